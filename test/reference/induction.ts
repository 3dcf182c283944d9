/**
 * Chapter 13's computations in float64 with plain loops, on top of the naive reference forward
 * pass (naiveGpt2.ts): the induction and previous-token score of every head, the heads ranked by
 * score, and the target's logit and rank with heads ablated through `hook_z`. No tfjs, nothing
 * from src/.
 *
 * The notebook runs TransformerLens's *processed* model (fromPretrained's defaults). Attention
 * patterns do not change under processing, so the scores come straight from the unprocessed run.
 * Ablation does depend on it: the processed model's `hook_z` is the unprocessed one minus the
 * effective value bias (processed.ts, fold_value_biases), so zeroing a head's z there is setting
 * it to that bias here, and the processed logits are these minus their mean over the vocabulary
 * (center_unembed). Ranks do not change under that shift.
 */
import { Gpt2Config, Gpt2Params, NdArray, ReferenceHook, naiveForward } from "./naiveGpt2";
import { centerLastAxis, effectiveValueBias } from "./processed";

/** A head's place and score; `layer`/`head` as in `scores[layer][head]`. */
export interface HeadScore {
  layer: number;
  head: number;
  score: number;
}

/** `pattern` [batch, head, query, key], batch 0, as `attn[head][query][key]`. */
function patternAt(pattern: NdArray, head: number, query: number, key: number): number {
  const [, H, P] = pattern.shape;
  if (head >= H || query >= P || key >= P) throw new Error(`induction reference: (${head}, ${query}, ${key}) outside pattern [${pattern.shape}]`);
  return pattern.data[(head * P + query) * P + key];
}

function patternsOf(cache: Map<string, NdArray>, nLayers: number): NdArray[] {
  return Array.from({ length: nLayers }, (_, l) => {
    const p = cache.get(`blocks.${l}.attn.hook_pattern`);
    if (!p) throw new Error(`induction reference: the cache lacks blocks.${l}.attn.hook_pattern`);
    return p;
  });
}

/**
 * The chapter's induction score: for "A B C D E A B C D" (BOS first), the mean attention from each
 * query 6..min(10, seqLen)-1 to key query - 4 (the token after the first occurrence).
 * @returns [n_layers][n_heads]
 */
export function inductionScores(cache: Map<string, NdArray>, nLayers: number, seqLen: number): number[][] {
  return patternsOf(cache, nLayers).map((pattern) =>
    Array.from({ length: pattern.shape[1] }, (_, head) => {
      let sum = 0;
      let count = 0;
      for (let q = 6; q < Math.min(10, seqLen); q++) {
        const k = q - 4;
        if (k > 0 && k < q) {
          sum += patternAt(pattern, head, q, k);
          count += 1;
        }
      }
      return count > 0 ? sum / count : 0;
    })
  );
}

/**
 * The previous-token score: mean attention from each position 1..seqLen-1 to the one before.
 * @returns [n_layers][n_heads]
 */
export function prevTokenScores(cache: Map<string, NdArray>, nLayers: number, seqLen: number): number[][] {
  return patternsOf(cache, nLayers).map((pattern) =>
    Array.from({ length: pattern.shape[1] }, (_, head) => {
      let sum = 0;
      for (let pos = 1; pos < seqLen; pos++) sum += patternAt(pattern, head, pos, pos - 1);
      return sum / (seqLen - 1);
    })
  );
}

/** Every head by score, largest first (ties: lower flat index layer * n_heads + head first). */
export function headsByScore(scores: number[][]): HeadScore[] {
  const all = scores.flatMap((row, layer) => row.map((score, head) => ({ layer, head, score })));
  const nHeads = scores[0].length;
  return all.sort((a, b) => b.score - a.score || a.layer * nHeads + a.head - (b.layer * nHeads + b.head));
}

export interface TargetResult {
  /** The processed model's logit of the target at the last position. */
  logit: number;
  /** How many logits at the last position exceed it (0 = top prediction). */
  rank: number;
  /** The processed model's logits at the last position, [d_vocab]. */
  lastLogits: Float64Array;
}

/**
 * Runs `tokens` (one sequence) with each listed head's processed `hook_z` set to zero, and reads the
 * target's logit and rank at the last position. `ablate` may name a head more than once and
 * several heads of one layer.
 */
export function targetLogitAndRank(
  params: Gpt2Params,
  config: Gpt2Config,
  tokens: number[],
  targetId: number,
  ablate: readonly { layer: number; head: number }[] = []
): TargetResult {
  const E = params.dHead;
  const hooks: Record<string, ReferenceHook> = {};
  for (let layer = 0; layer < params.nLayers; layer++) {
    const heads = ablate.filter((a) => a.layer === layer).map((a) => a.head);
    if (heads.length === 0) continue;
    const bias = effectiveValueBias(params, layer, true); // [head * d_head]
    hooks[`blocks.${layer}.attn.hook_z`] = (z) => {
      const [B, P, H] = z.shape; // [batch, pos, head, d_head]
      for (let b = 0; b < B; b++)
        for (let p = 0; p < P; p++)
          for (const h of heads) for (let e = 0; e < E; e++) z.data[((b * P + p) * H + h) * E + e] = bias[h * E + e];
    };
  }
  const { logits } = naiveForward(params, config, [tokens], { hooks });
  const centered = centerLastAxis(logits);
  const V = centered.shape[2];
  const lastLogits = centered.data.slice((tokens.length - 1) * V, tokens.length * V);
  const logit = lastLogits[targetId];
  let rank = 0;
  for (const v of lastLogits) if (v > logit) rank += 1;
  return { logit, rank, lastLogits };
}

/** The ranks the target could have once every logit carries an error up to `tol`: [fewest, most]. */
export function rankInterval(lastLogits: Float64Array, targetId: number, tol: number): [number, number] {
  const t = lastLogits[targetId];
  let surely = 0;
  let maybe = 0;
  lastLogits.forEach((v, i) => {
    if (i === targetId) return;
    if (v > t + tol) surely += 1;
    if (v > t - tol) maybe += 1;
  });
  return [surely, maybe];
}
