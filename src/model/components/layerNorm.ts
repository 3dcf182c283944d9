import { tf } from "../../backend";
import { HookPoint, Module } from "../../hooks/hookPoint";
import { layerNorm } from "../fusedOps";

/**
 * LayerNorm as TransformerLens computes it: centre, divide by sqrt(mean(x²) + eps), then (unless the
 * weights were folded away, "LNPre") scale by w and shift by b.
 * hook_normalized sees the final output: with w and b applied for LN, without for LNPre.
 */
export class LayerNorm extends Module {
  readonly hook_scale = new HookPoint(); // [batch, pos, 1]
  readonly hook_normalized = new HookPoint(); // [batch, pos, d_model]

  /** @param w, b [d_model], or undefined for LNPre (owned by the model). */
  constructor(readonly eps: number, readonly w?: tf.Tensor1D, readonly b?: tf.Tensor1D) {
    super();
  }

  /** @param x [batch, pos, d_model] @returns [batch, pos, d_model] */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const { scale, normalized } = layerNorm(x, this.eps, this.w, this.b);
    const hookedScale = this.hook_scale.run(scale);
    if (hookedScale === scale) return this.hook_normalized.run(normalized);
    // A hook replaced the scale: normalise with the replacement, as TransformerLens would.
    let out = tf.div(tf.sub(x, tf.mean(x, -1, true)), hookedScale) as tf.Tensor3D;
    if (this.w && this.b) out = tf.add(tf.mul(out, this.w), this.b);
    return this.hook_normalized.run(out);
  }
}
