import { tf } from "../../backend";
import type { CachedActivation } from "../../hooks/activationCache";
import { HookPoint, Module } from "../../hooks/hookPoint";
import { LazyActivation } from "../../hooks/lazyActivation";
import { ActFn } from "../config";
import { geluNew } from "../fusedOps";

export interface MlpWeights {
  W_in: tf.Tensor2D; // [d_model, d_mlp]
  b_in: tf.Tensor1D; // [d_mlp]
  W_out: tf.Tensor2D; // [d_mlp, d_model]
  b_out: tf.Tensor1D; // [d_model]
}

/** The MLP: pre = x W_in + b_in, post = act(pre), out = post W_out + b_out. */
export class MLP extends Module {
  readonly hook_pre = new HookPoint(); // [batch, pos, d_mlp]
  readonly hook_post = new HookPoint(); // [batch, pos, d_mlp]
  readonly W_in: tf.Tensor2D;
  readonly b_in: tf.Tensor1D;
  readonly W_out: tf.Tensor2D;
  readonly b_out: tf.Tensor1D;
  /**
   * Set by runWithCache for one run when its cache wants hook_post: the MLP records it itself, as a
   * lazy activation (act(pre), computed when first read: the same kernel on the same pre, so the same
   * bits) while no hook sits on hook_post, else as the tensor a recording hook would have seen.
   */
  deferredPost: ((name: string, activation: CachedActivation) => void) | undefined;

  constructor(weights: MlpWeights, readonly actFn: ActFn) {
    super();
    ({ W_in: this.W_in, b_in: this.b_in, W_out: this.W_out, b_out: this.b_out } = weights);
  }

  /** @param x [batch, pos, d_model] @returns [batch, pos, d_model] */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    const [batch, pos, dModel] = x.shape;
    const dMlp = this.W_in.shape[1];
    const pre = this.hook_pre.run(tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [batch * pos, dModel]), b: this.W_in, bias: this.b_in }), [batch, pos, dMlp]) as tf.Tensor3D);
    const post = this.hook_post.run(activation(pre, this.actFn));
    const record = this.deferredPost;
    if (record) {
      const lazy = !this.hook_post.hasHooks;
      record(this.hook_post.name, lazy ? new LazyActivation(post.shape, [pre], ([p]) => activation(p, this.actFn)) : post);
    }
    const out = tf.fused.matMul({ a: tf.reshape(post, [batch * pos, dMlp]), b: this.W_out, bias: this.b_out });
    return tf.reshape(out, [batch, pos, dModel]);
  }
}

/** Elementwise activation. gelu_new is GPT-2's tanh approximation (see fusedOps.geluNew). */
export function activation<T extends tf.Tensor>(x: T, fn: ActFn): T {
  switch (fn) {
    case "gelu_new":
      return geluNew(x);
    case "gelu":
      // Exact GELU: 0.5x(1 + erf(x/√2)).
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1)) as T;
    case "relu":
      return tf.relu(x) as T;
  }
}
