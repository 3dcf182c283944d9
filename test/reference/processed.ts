/**
 * What TransformerLens's *processed* GPT-2 (from_pretrained's default: fold_ln,
 * center_writing_weights, center_unembed, fold_value_biases) records at each hook, derived from
 * the unprocessed reference run by exact identities, not by processing weights:
 *
 * - center_writing_weights subtracts, from W_E, W_pos, W_O, b_O, W_out and b_out, their mean over
 *   d_model. Everything that writes to the residual stream loses its mean, and the stream is a sum
 *   of such writes, so hook_embed, hook_pos_embed, resid_pre / resid_mid / resid_post, attn_out
 *   and mlp_out become (unprocessed - their mean over d_model). LayerNorm centres its input first,
 *   so nothing downstream of a LayerNorm changes.
 * - fold_ln turns LayerNorm into LayerNormPre (components/layer_norm_pre.py): hook_scale is
 *   unchanged, hook_normalized becomes x_centered / scale (no weight, no bias), and w, b move into
 *   the reading weights (b_Q += b @ W_Q, W_Q *= w, then W_Q centred over d_model - harmless since
 *   the normalised input has zero mean). q, k, v, scores, pattern, z, mlp pre / post: unchanged.
 * - fold_value_biases moves b_V (already including ln1.b @ W_V after fold_ln) into b_O and sets
 *   b_V = 0. Pattern rows sum to 1, so z = pattern @ v loses exactly b_V too: hook_v and hook_z
 *   become (unprocessed - b_V_effective) per head; attn_out is unchanged (besides centring).
 * - center_unembed subtracts from W_U and b_U their mean over d_vocab: logits become
 *   (unprocessed - their mean over the vocabulary); log-probs and loss are unchanged.
 *
 * Each flag can be switched off to match HookedTransformer.fromPretrained's options.
 */
import { Gpt2Config, Gpt2Params, NaiveForwardResult, NdArray, WeightTensor, cloneNd, gpt2Params } from "./naiveGpt2";

export interface ProcessingFlags {
  foldLn?: boolean;
  centerWritingWeights?: boolean;
  centerUnembed?: boolean;
  foldValueBiases?: boolean;
}

/** Subtracts from each row of the last axis its mean. */
export function centerLastAxis(a: NdArray): NdArray {
  const out = cloneNd(a);
  const n = a.shape[a.shape.length - 1];
  for (let r = 0; r < a.data.length / n; r++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += a.data[r * n + i];
    mean /= n;
    for (let i = 0; i < n; i++) out.data[r * n + i] -= mean;
  }
  return out;
}

/** (x - mean(x)) / scale per row: LayerNormPre's hook_normalized from the LayerNorm input and scale. */
function normalizedPre(input: NdArray, scale: NdArray): NdArray {
  const out = centerLastAxis(input);
  const n = input.shape[input.shape.length - 1];
  for (let r = 0; r < out.data.length / n; r++) for (let i = 0; i < n; i++) out.data[r * n + i] /= scale.data[r];
  return out;
}

/**
 * The value bias the processed model removes from v (and z), per layer, as [head * d_head]:
 * b_V, plus ln1.b @ W_V when LayerNorm is folded.
 */
export function effectiveValueBias(p: Gpt2Params, layer: number, foldLn: boolean): Float64Array {
  const D = p.dModel;
  const L = p.layers[layer];
  const out = new Float64Array(D);
  for (let o = 0; o < D; o++) {
    let s = L.cAttnB[2 * D + o];
    if (foldLn) for (let i = 0; i < D; i++) s += L.ln1B[i] * L.cAttnW[i * 3 * D + 2 * D + o];
    out[o] = s;
  }
  return out;
}

/**
 * Expected processed-model logits and cache from an unprocessed reference run (without hooks).
 * `weights`/`config` are those the run used (for b_V and ln1.b).
 */
export function processedExpectations(
  unprocessed: NaiveForwardResult,
  weights: Map<string, WeightTensor> | Gpt2Params,
  config: Gpt2Config,
  flags: ProcessingFlags = {}
): NaiveForwardResult {
  const foldLn = flags.foldLn ?? true;
  const centerWriting = flags.centerWritingWeights ?? true;
  const centerUnembed = flags.centerUnembed ?? true;
  const foldValueBiases = flags.foldValueBiases ?? true;
  const p = weights instanceof Map ? gpt2Params(weights, config) : weights;
  const src = unprocessed.cache;
  const get = (name: string): NdArray => {
    const a = src.get(name);
    if (!a) throw new Error(`processedExpectations: unprocessed cache lacks ${name}`);
    return a;
  };
  const lnInput = (lnPrefix: string): string => {
    if (lnPrefix === "ln_final") return `blocks.${p.nLayers - 1}.hook_resid_post`;
    const [, l, which] = /^blocks\.(\d+)\.(ln1|ln2)$/.exec(lnPrefix)!;
    return which === "ln1" ? `blocks.${l}.hook_resid_pre` : `blocks.${l}.hook_resid_mid`;
  };

  const cache = new Map<string, NdArray>();
  for (const [name, act] of src) {
    let m: RegExpExecArray | null;
    if (centerWriting && /^(hook_embed|hook_pos_embed|blocks\.\d+\.hook_(resid_pre|resid_mid|resid_post|attn_out|mlp_out))$/.test(name)) {
      cache.set(name, centerLastAxis(act));
    } else if (foldLn && (m = /^(.*)\.hook_normalized$/.exec(name))) {
      cache.set(name, normalizedPre(get(lnInput(m[1])), get(`${m[1]}.hook_scale`)));
    } else if (foldValueBiases && (m = /^blocks\.(\d+)\.attn\.hook_(v|z)$/.exec(name))) {
      const bias = effectiveValueBias(p, Number(m[1]), foldLn); // [head * d_head], matches the last two axes
      const out = cloneNd(act);
      for (let i = 0; i < out.data.length; i++) out.data[i] -= bias[i % bias.length];
      cache.set(name, out);
    } else {
      cache.set(name, cloneNd(act));
    }
  }
  const logits = centerUnembed ? centerLastAxis(unprocessed.logits) : cloneNd(unprocessed.logits);
  return { logits, cache };
}
