/**
 * How many bytes a forward pass keeps and needs while it runs, from the config alone (float32).
 * Used to free unreachable results before a run and to refuse, before it starts, a run that cannot
 * fit; the heap guard catches anything this underestimates.
 */
import { HookedTransformerConfig } from "../model/config";

/** Elements of the activation at a hook name for a [batch, pos] input (0 for names it does not know). */
export function activationElements(name: string, cfg: HookedTransformerConfig, batch: number, pos: number): number {
  const { dModel: d, dMlp: m, nHeads: H, dHead: E } = cfg;
  const tail = name.slice(name.lastIndexOf(".") + 1);
  if (tail === "hook_scale") return batch * pos;
  if (tail === "hook_attn_scores" || tail === "hook_pattern") return batch * H * pos * pos;
  if (["hook_q", "hook_k", "hook_v", "hook_z"].includes(tail)) return batch * pos * H * E;
  if (name.includes(".mlp.hook_pre") || name.includes(".mlp.hook_post")) return batch * pos * m;
  return batch * pos * d;
}

/**
 * @param cachedNames the hook names the run keeps
 * @returns kept: the cache plus logits; working: the largest set of intermediates alive at once
 *   (one block's: scores and pattern, the MLP's hidden layer, a few residual-sized tensors, and the logits' softmax-sized temporaries)
 */
export function runBytes(cfg: HookedTransformerConfig, batch: number, pos: number, cachedNames: Iterable<string>): { kept: number; working: number } {
  let cached = 0;
  for (const n of cachedNames) cached += activationElements(n, cfg, batch, pos);
  const logits = batch * pos * cfg.dVocab;
  const block = 2 * batch * cfg.nHeads * pos * pos + 2 * batch * pos * cfg.dMlp + 8 * batch * pos * cfg.dModel;
  return { kept: 4 * (cached + logits), working: 4 * Math.max(block, logits) };
}
