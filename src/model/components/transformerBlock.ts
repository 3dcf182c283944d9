import { tf } from "../../backend";
import { HookPoint, Module } from "../../hooks/hookPoint";
import type { KeyValueCacheEntry } from "../../generation/kvCache";
import { Attention } from "./attention";
import { LayerNorm } from "./layerNorm";
import { MLP } from "./mlp";

/** A pre-LayerNorm GPT-2 block: resid_mid = resid_pre + attn(ln1(resid_pre)); resid_post = resid_mid + mlp(ln2(resid_mid)). */
export class TransformerBlock extends Module {
  readonly hook_resid_pre = new HookPoint(); // [batch, pos, d_model]
  readonly hook_attn_out = new HookPoint(); // [batch, pos, d_model]
  readonly hook_resid_mid = new HookPoint(); // [batch, pos, d_model]
  readonly hook_mlp_out = new HookPoint(); // [batch, pos, d_model]
  readonly hook_resid_post = new HookPoint(); // [batch, pos, d_model]

  constructor(readonly ln1: LayerNorm, readonly attn: Attention, readonly ln2: LayerNorm, readonly mlp: MLP) {
    super();
  }

  /**
   * @param residPre [batch, pos, d_model] @param kvCache this layer's generation cache (see Attention.forward)
   * @returns resid_post [batch, pos, d_model]
   */
  forward(residPre: tf.Tensor3D, kvCache?: KeyValueCacheEntry): tf.Tensor3D {
    const resid = this.hook_resid_pre.run(residPre);
    const attnOut = this.hook_attn_out.run(this.attn.forward(this.ln1.forward(resid), kvCache));
    const residMid = this.hook_resid_mid.run(tf.add(resid, attnOut) as tf.Tensor3D);
    const mlpOut = this.hook_mlp_out.run(this.mlp.forward(this.ln2.forward(residMid)));
    return this.hook_resid_post.run(tf.add(residMid, mlpOut) as tf.Tensor3D);
  }
}
