import { tf } from "../../backend";
import type { CachedActivation } from "../../hooks/activationCache";
import { HookPoint, Module } from "../../hooks/hookPoint";
import { LazyActivation } from "../../hooks/lazyActivation";
import { layerNorm } from "../fusedOps";

/**
 * LayerNorm as TransformerLens computes it: centre, divide by sqrt(mean(x²) + eps), then (unless the
 * weights were folded away, "LNPre") scale by w and shift by b.
 * hook_normalized sees the final output: with w and b applied for LN, without for LNPre.
 */
export class LayerNorm extends Module {
  readonly hook_scale = new HookPoint(); // [batch, pos, 1]
  readonly hook_normalized = new HookPoint(); // [batch, pos, d_model]

  /**
   * Set by runWithCache for one run when its cache wants hook_scale and/or hook_normalized: the
   * LayerNorm records them itself: hook_normalized as a lazy activation (the same kernel on the same
   * input when first read, so the same bits) while no hook sits on hook_scale or hook_normalized,
   * else, like hook_scale, as the tensor a recording hook would have seen.
   */
  deferred: { scale: boolean; normalized: boolean; record(name: string, activation: CachedActivation): void } | undefined;

  /** @param w, b [d_model], or undefined for LNPre (owned by the model). */
  constructor(readonly eps: number, readonly w?: tf.Tensor1D, readonly b?: tf.Tensor1D) {
    super();
  }

  /** @param x [batch, pos, d_model] @returns [batch, pos, d_model] */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const d = this.deferred;
    const lazy = d !== undefined && !this.hook_scale.hasHooks && !this.hook_normalized.hasHooks;
    const { scale, normalized } = layerNorm(x, this.eps, this.w, this.b);
    const hookedScale = this.hook_scale.run(scale);
    if (d?.scale) d.record(this.hook_scale.name, hookedScale);
    let out: tf.Tensor3D;
    if (hookedScale === scale) out = this.hook_normalized.run(normalized);
    else {
      // A hook replaced the scale: normalise with the replacement, as TransformerLens would.
      out = tf.div(tf.sub(x, tf.mean(x, -1, true)), hookedScale) as tf.Tensor3D;
      if (this.w && this.b) out = tf.add(tf.mul(out, this.w), this.b);
      out = this.hook_normalized.run(out);
    }
    if (d?.normalized) {
      const { eps, w, b } = this;
      d.record(this.hook_normalized.name, lazy ? new LazyActivation(out.shape, [x], ([x]) => layerNorm(x, eps, w, b).normalized) : out);
    }
    return out;
  }
}
