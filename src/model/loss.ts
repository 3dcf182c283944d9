/** The next-token loss of a forward pass. */
import { tf } from "../backend";

/**
 * TransformerLens's lm_cross_entropy_loss: the negative log-probability of each next token.
 * @param logits [batch, pos, d_vocab] @param tokens [batch, pos]
 * @returns scalar mean, or [batch, pos - 1] per token
 */
export function crossEntropyLoss(logits: tf.Tensor3D, tokens: tf.Tensor2D, perToken: boolean): tf.Tensor {
  const [batch, pos, vocab] = logits.shape;
  if (pos < 2) throw new Error("The loss needs at least 2 tokens (it predicts each next token).");
  const logProbs = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [batch, pos - 1, vocab])); // [batch, pos-1, vocab]
  const next = tf.slice(tokens, [0, 1], [batch, pos - 1]); // [batch, pos-1]
  const flatIndex = tf.add(tf.mul(tf.range(0, batch * (pos - 1), 1, "int32"), tf.scalar(vocab, "int32")), tf.reshape(next, [-1]));
  const picked = tf.reshape(tf.gather(tf.reshape(logProbs, [-1]), flatIndex), [batch, pos - 1]);
  const loss = tf.neg(picked);
  return perToken ? loss : tf.mean(loss);
}
