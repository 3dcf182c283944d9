/**
 * TransformerLens's `utils.get_act_name`: short activation names → full hook names.
 *
 *   getActName("pattern", 5)        → "blocks.5.attn.hook_pattern"
 *   getActName("resid_pre", 0)      → "blocks.0.hook_resid_pre"
 *   getActName("scale", 3, "ln1")   → "blocks.3.ln1.hook_scale"
 *   getActName("scale")             → "ln_final.hook_scale"
 *   getActName("embed")             → "hook_embed"
 *   getActName("k6a")               → "blocks.6.attn.hook_k"   (name, layer, layer type in one)
 *   getActName("blocks.2.hook_mlp_out") → unchanged (already a full name)
 */

/** Aliases TransformerLens accepts for the activation name. */
const ACT_NAME_ALIASES: Record<string, string> = {
  attn: "pattern",
  attn_logits: "attn_scores",
  key: "k",
  query: "q",
  value: "v",
  mlp_pre: "pre",
  mlp_mid: "mid",
  mlp_post: "post",
};

/** Aliases for the layer type (the sub-module). */
const LAYER_TYPE_ALIASES: Record<string, string> = { a: "attn", m: "mlp", b: "", block: "", blocks: "", attention: "attn" };

/** Names that always live in the attention / MLP sub-module. */
const ATTN_NAMES = new Set(["k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores"]);
const MLP_NAMES = new Set(["pre", "post", "mid", "pre_linear"]);
const LAYER_NORM_NAMES = new Set(["scale", "normalized"]);

export function getActName(name: string, layer?: number, layerType?: string): string {
  if ((name.includes(".") || name.startsWith("hook_")) && layer === undefined && layerType === undefined) {
    return name;
  }
  const compact = /^([a-z]+)(\d+)([a-z]?.*)$/.exec(name);
  if (compact) {
    name = compact[1];
    layer = Number(compact[2]);
    layerType = compact[3];
  }
  name = ACT_NAME_ALIASES[name] ?? name;
  let full = layer !== undefined ? `blocks.${layer}.` : "";
  if (ATTN_NAMES.has(name)) layerType = "attn";
  else if (MLP_NAMES.has(name)) layerType = "mlp";
  else if (layerType !== undefined && layerType in LAYER_TYPE_ALIASES) layerType = LAYER_TYPE_ALIASES[layerType];
  if (layerType) full += `${layerType}.`;
  full += `hook_${name}`;
  if (LAYER_NORM_NAMES.has(name) && layer === undefined) full = `ln_final.${full}`;
  return full;
}

/** Levenshtein distance, for "did you mean" lists. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The `count` names in `candidates` closest to `name`. */
export function closestNames(name: string, candidates: Iterable<string>, count = 5): string[] {
  return [...candidates]
    .map((c) => ({ c, d: editDistance(name, c) }))
    .sort((x, y) => x.d - y.d)
    .slice(0, count)
    .map((x) => x.c);
}
