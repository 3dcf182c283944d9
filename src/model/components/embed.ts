import { tf } from "../../backend";
import { Module } from "../../hooks/hookPoint";

/** Token embedding. W_E: [d_vocab, d_model] (owned by the model). */
export class Embed extends Module {
  constructor(readonly W_E: tf.Tensor2D) {
    super();
  }

  /** @param tokens [batch, pos] int32 @returns [batch, pos, d_model] */
  forward(tokens: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.W_E, tokens) as unknown as tf.Tensor3D;
  }
}
