/**
 * Which activations the layers of one runWithCache record themselves instead of through a recording
 * hook: attention scores and patterns (see DeferredAttentionRecord in components/attention.ts), the
 * MLP's hook_post and the LayerNorms' hook_scale and hook_normalized. A layer records the derived ones
 * lazily (computed when first read from the cache) while no hook sits where it could change them, and
 * as tensors otherwise, exactly what a recording hook would have seen.
 */
import type { CachedActivation } from "../hooks/activationCache";
import { HookPoint } from "../hooks/hookPoint";
import type { LayerNorm } from "./components/layerNorm";
import type { TransformerBlock } from "./components/transformerBlock";

/**
 * Sets the layers' records for one run (none when `keep` is undefined, so a nested run never records
 * into an outer run's cache). Every `keep` decision is taken before anything is set, so a predicate
 * that throws changes nothing.
 * @param record where the layers put what they record (the run's bucket).
 * @returns the hook points now recorded by their layer (no recording hook goes there) and a function
 *   that puts the previous settings back.
 */
export function deferRecords(
  blocks: readonly TransformerBlock[],
  lnFinal: LayerNorm,
  keep: ((name: string) => boolean) | undefined,
  record: (name: string, a: CachedActivation) => void
): { points: Set<HookPoint>; restore: () => void } {
  const norms = [...blocks.flatMap((b) => [b.ln1, b.ln2]), lnFinal];
  const saved = blocks.map((b) => [b.attn.deferred, b.mlp.deferredPost] as const);
  const savedNorms = norms.map((n) => n.deferred);
  const points = new Set<HookPoint>();
  const consider = (h: HookPoint) => {
    if (keep?.(h.name)) points.add(h);
  };
  for (const { attn, mlp } of blocks) [attn.hook_attn_scores, attn.hook_pattern, mlp.hook_post].forEach(consider);
  for (const n of norms) [n.hook_scale, n.hook_normalized].forEach(consider);
  for (const { attn, mlp } of blocks) {
    const [scores, pattern] = [points.has(attn.hook_attn_scores), points.has(attn.hook_pattern)];
    attn.deferred = scores || pattern ? { scores, pattern, record } : undefined;
    mlp.deferredPost = points.has(mlp.hook_post) ? record : undefined;
  }
  for (const n of norms) {
    const [scale, normalized] = [points.has(n.hook_scale), points.has(n.hook_normalized)];
    n.deferred = scale || normalized ? { scale, normalized, record } : undefined;
  }
  return {
    points,
    restore: () => {
      blocks.forEach((b, i) => {
        [b.attn.deferred, b.mlp.deferredPost] = saved[i];
      });
      norms.forEach((n, i) => (n.deferred = savedNorms[i]));
    },
  };
}
