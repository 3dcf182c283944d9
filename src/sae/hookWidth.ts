/**
 * The width (last dimension) of a HookedTransformer activation, from its hook name: what an SAE's
 * d_in must equal to read that hook. Only for the hooks whose last axis is one vector per position.
 */

/** The model fields the widths depend on (HookedTransformerConfig has them all). */
export interface HookWidthConfig {
  readonly dModel: number;
  readonly dMlp: number;
  readonly dHead: number;
}

/**
 * @returns the last dimension of `hookName`'s activation, or undefined for hooks whose last axis is
 * not a feature vector (attention scores and patterns, LayerNorm scales) or names it does not know.
 */
export function hookWidth(hookName: string, cfg: HookWidthConfig): number | undefined {
  const last = hookName.split(".").slice(-1)[0];
  const inMlp = hookName.includes(".mlp.");
  if (inMlp && (last === "hook_pre" || last === "hook_post")) return cfg.dMlp; // [batch, pos, d_mlp]
  if (/\.attn\.hook_[qkvz]$/.test(hookName)) return cfg.dHead; // [batch, pos, head_index, d_head]
  if (/\.hook_normalized$/.test(hookName)) return cfg.dModel;
  const dModelHooks = ["hook_embed", "hook_pos_embed", "hook_resid_pre", "hook_resid_mid", "hook_resid_post", "hook_attn_out", "hook_mlp_out"];
  if (dModelHooks.includes(last)) return cfg.dModel; // [batch, pos, d_model]
  return undefined;
}
