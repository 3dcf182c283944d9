import { tf } from "../../backend";
import { Module } from "../../hooks/hookPoint";

/** Learned positional embedding. W_pos: [n_ctx, d_model] (owned by the model). */
export class PosEmbed extends Module {
  constructor(readonly W_pos: tf.Tensor2D) {
    super();
  }

  /** @param tokens [batch, pos] (only its shape is used) @returns [batch, pos, d_model] */
  forward(tokens: tf.Tensor2D): tf.Tensor3D {
    const [batch, pos] = tokens.shape;
    const rows = tf.slice(this.W_pos, [0, 0], [pos, -1]); // [pos, d_model]
    // TransformerLens repeats over the batch, so the hook sees [batch, pos, d_model].
    return tf.tile(tf.expandDims(rows, 0), [batch, 1, 1]) as tf.Tensor3D;
  }

  /**
   * Rows of W_pos at given positions (generation: offset by the cached positions, counted per row).
   * @param positionIds [batch, pos] int32 @param keep [batch, pos], 0 zeroes a row (padding), as TransformerLens
   * @returns [batch, pos, d_model]
   */
  atPositions(positionIds: tf.Tensor2D, keep?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const rows = tf.gather(this.W_pos, positionIds) as unknown as tf.Tensor3D;
      return keep ? (tf.mul(rows, tf.expandDims(keep, -1)) as tf.Tensor3D) : rows;
    });
  }
}
