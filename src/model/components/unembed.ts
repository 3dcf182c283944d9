import { tf } from "../../backend";
import { Module } from "../../hooks/hookPoint";

/** Unembedding. W_U: [d_model, d_vocab], b_U: [d_vocab] (owned by the model). */
export class Unembed extends Module {
  constructor(readonly W_U: tf.Tensor2D, readonly b_U: tf.Tensor1D) {
    super();
  }

  /** @param x [batch, pos, d_model] @returns logits [batch, pos, d_vocab] */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const [batch, pos, dModel] = x.shape;
    const logits = tf.fused.matMul({ a: tf.reshape(x, [batch * pos, dModel]), b: this.W_U, bias: this.b_U });
    return tf.reshape(logits, [batch, pos, -1]);
  }
}
