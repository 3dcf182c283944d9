/**
 * The book's analyses (first-analysis and exercises notebooks) in float64 with plain loops, on the
 * weights a processed HookedTransformer holds (processedWeights.ts): what each notebook cell
 * prints, computed independently of src/ and tfjs, for the notebook tests to compare against.
 *
 * Names follow the notebooks: W_U[:, id] is `unembedColumn(id)` (row `id` of the stored [d_vocab,
 * d_model] unembed), W_E[id] is `embedRow(id)`, W_O[layer][head] is rows head*d_head.. of c_proj.
 * Token inputs are one sequence of ids with BOS already prepended (what model.toTokens gives).
 */
import * as fs from "fs";
import * as path from "path";
import { Gpt2Config, Gpt2Params, NaiveForwardResult, NdArray, ReferenceHook, gpt2Params, naiveForward } from "./naiveGpt2";
import { processWeightsByHand } from "./processedWeights";
import { ReferenceSae, referenceEncode } from "./sae";
import { readSafetensorsF64 } from "./safetensorsRead";

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function vecNorm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** Indices of the k largest values, largest first (ties: lower index first, as torch.topk on CPU). */
export function topKIndices(x: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: x.length }, (_, i) => i);
  return order.sort((a, b) => x[b] - x[a] || a - b).slice(0, k);
}

export function softmax(x: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  const out = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += out[i] = Math.exp(x[i] - max);
  for (let i = 0; i < x.length; i++) out[i] /= sum;
  return out;
}

/** `a[batch 0, pos]` of a [1, pos, d] activation as a [d] vector (negative pos from the end). */
export function rowAt(a: NdArray, pos: number): Float64Array {
  const [, P, D] = a.shape;
  const p = pos < 0 ? P + pos : pos;
  return a.data.slice(p * D, (p + 1) * D);
}

/** A processed GPT-2 in float64: the forward pass and the weight views the notebooks use. */
export class ReferenceModel {
  constructor(readonly p: Gpt2Params, readonly config: Gpt2Config) {}

  /** Reads config.json + model.safetensors from `dir` and processes the weights as fromPretrained does. */
  static fromCheckpoint(dir: string): ReferenceModel {
    const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as Gpt2Config;
    const weights = readSafetensorsF64(path.join(dir, "model.safetensors"));
    return new ReferenceModel(processWeightsByHand(gpt2Params(weights, config)), config);
  }

  get nLayers(): number { return this.p.nLayers; }
  get nHeads(): number { return this.p.nHeads; }

  /** Forward on one sequence; hooks by TransformerLens hook name. logits [1, pos, d_vocab]. */
  run(tokens: number[], hooks: Record<string, ReferenceHook> = {}): NaiveForwardResult {
    return naiveForward(this.p, this.config, [tokens], { hooks });
  }

  /** logits[0, -1]: [d_vocab] */
  lastLogits(tokens: number[], hooks: Record<string, ReferenceHook> = {}): Float64Array {
    return rowAt(this.run(tokens, hooks).logits, -1);
  }

  /** W_U[:, id]: [d_model] */
  unembedColumn(id: number): Float64Array {
    const D = this.p.dModel;
    return this.p.unembed.slice(id * D, (id + 1) * D);
  }

  /** W_E[id]: [d_model] */
  embedRow(id: number): Float64Array {
    const D = this.p.dModel;
    return this.p.wte.slice(id * D, (id + 1) * D);
  }

  /** z[pos, head] @ W_O[layer][head] from a run's cache: [d_model] (no b_O, as in the notebooks). */
  headOut(cache: Map<string, NdArray>, layer: number, head: number, pos = -1): Float64Array {
    const z = cache.get(`blocks.${layer}.attn.hook_z`)!; // [1, pos, head, d_head]
    const [, P, H, E] = z.shape;
    const D = this.p.dModel;
    const t = pos < 0 ? P + pos : pos;
    const W = this.p.layers[layer].attnProjW; // [head*d_head, d_model]
    const out = new Float64Array(D);
    for (let e = 0; e < E; e++) {
      const zv = z.data[(t * H + head) * E + e];
      for (let o = 0; o < D; o++) out[o] += zv * W[(head * E + e) * D + o];
    }
    return out;
  }
}

// ---- first-analysis --------------------------------------------------------------------------

export interface Prediction { id: number; prob: number; logit: number }

/** get_top_predictions: the k most likely next tokens with their probability and logit. */
export function topPredictions(m: ReferenceModel, tokens: number[], k = 5): Prediction[] {
  const logits = m.lastLogits(tokens);
  const probs = softmax(logits);
  return topKIndices(logits, k).map((id) => ({ id, prob: probs[id], logit: logits[id] }));
}

/** get_token_logit: logits[0, -1, id]. */
export function tokenLogit(m: ReferenceModel, tokens: number[], id: number): number {
  return m.lastLogits(tokens)[id];
}

/**
 * logit_attribution: each component's output at the last position dotted with W_U[:, id], keyed
 * embed, pos_embed, L{l}_attn, L{l}_mlp (in that order), and the logit itself.
 */
export function logitAttribution(m: ReferenceModel, tokens: number[], id: number): { contributions: Map<string, number>; logit: number } {
  const { logits, cache } = m.run(tokens);
  const dir = m.unembedColumn(id);
  const c = new Map<string, number>();
  c.set("embed", dot(rowAt(cache.get("hook_embed")!, -1), dir));
  c.set("pos_embed", dot(rowAt(cache.get("hook_pos_embed")!, -1), dir));
  for (let l = 0; l < m.nLayers; l++) {
    c.set(`L${l}_attn`, dot(rowAt(cache.get(`blocks.${l}.hook_attn_out`)!, -1), dir));
    c.set(`L${l}_mlp`, dot(rowAt(cache.get(`blocks.${l}.hook_mlp_out`)!, -1), dir));
  }
  return { contributions: c, logit: rowAt(logits, -1)[id] };
}

/** head_attribution: (z[-1, h] @ W_O[l][h]) · W_U[:, id] for every head, keyed L{l}H{h}. */
export function headAttribution(m: ReferenceModel, tokens: number[], id: number): Map<string, number> {
  const { cache } = m.run(tokens);
  const dir = m.unembedColumn(id);
  const c = new Map<string, number>();
  for (let l = 0; l < m.nLayers; l++) for (let h = 0; h < m.nHeads; h++) c.set(`L${l}H${h}`, dot(m.headOut(cache, l, h), dir));
  return c;
}

/**
 * A hook doing `act[:, pos, :] = source[:, pos, :]` on [1, pos, d] activations; a negative `pos`
 * counts from the end of each (the two runs may differ in length).
 */
export function patchPositionHook(source: NdArray, pos: number): ReferenceHook {
  return (act) => {
    const [, P, D] = act.shape;
    const t = pos < 0 ? P + pos : pos;
    const out = { shape: [...act.shape], data: Float64Array.from(act.data) };
    out.data.set(rowAt(source, pos), t * D);
    return out;
  };
}

/**
 * patch_position at every layer: the clean run's last-position logits with blocks.{l}.hook_resid_post
 * at `position` replaced by the corrupted run's. Returns [layer] → logits [d_vocab].
 */
export function patchedLogitsPerLayer(m: ReferenceModel, clean: number[], corrupted: number[], position: number): Float64Array[] {
  const corruptedCache = m.run(corrupted).cache;
  const out: Float64Array[] = [];
  for (let l = 0; l < m.nLayers; l++) {
    const name = `blocks.${l}.hook_resid_post`;
    out.push(m.lastLogits(clean, { [name]: patchPositionHook(corruptedCache.get(name)!, position) }));
  }
  return out;
}

// ---- exercises -------------------------------------------------------------------------------

/** 2.1: pattern[layer][0, head][-1]: where the last position attends, [pos]. */
export function lastAttentionRow(m: ReferenceModel, tokens: number[], layer: number, head: number): Float64Array {
  const pat = m.run(tokens).cache.get(`blocks.${layer}.attn.hook_pattern`)!; // [1, head, q, k]
  const P = pat.shape[2];
  return pat.data.slice((head * P + P - 1) * P, (head * P + P) * P);
}

/** 2.2: (mlp.hook_post[0] > 0).float().mean() at one layer. */
export function fractionActive(m: ReferenceModel, tokens: number[], layer: number): number {
  const post = m.run(tokens).cache.get(`blocks.${layer}.mlp.hook_post`)!;
  let n = 0;
  for (const x of post.data) if (x > 0) n++;
  return n / post.data.length;
}

/** 3.1 logit lens: top-k ids of resid_post[l][0, -1] @ W_U (no final LayerNorm, no b_U), per layer. */
export function logitLensTopK(m: ReferenceModel, tokens: number[], k: number): number[][] {
  const { cache } = m.run(tokens);
  const V = m.p.dVocab;
  const D = m.p.dModel;
  const out: number[][] = [];
  for (let l = 0; l < m.nLayers; l++) {
    const resid = rowAt(cache.get(`blocks.${l}.hook_resid_post`)!, -1);
    const lens = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += resid[i] * m.p.unembed[v * D + i];
      lens[v] = s;
    }
    out.push(topKIndices(lens, k));
  }
  return out;
}

/** 3.2: [name, contribution to W_U[:, id]] for L{l}_MLP then each L{l}H{h}, layer by layer. */
export function componentContributions(m: ReferenceModel, tokens: number[], id: number): [string, number][] {
  const { cache } = m.run(tokens);
  const dir = m.unembedColumn(id);
  const out: [string, number][] = [];
  for (let l = 0; l < m.nLayers; l++) {
    out.push([`L${l}_MLP`, dot(rowAt(cache.get(`blocks.${l}.hook_mlp_out`)!, -1), dir)]);
    for (let h = 0; h < m.nHeads; h++) out.push([`L${l}H${h}`, dot(m.headOut(cache, l, h), dir)]);
  }
  return out;
}

/** 4.1: cosine similarity of W_U[:, a] and W_U[:, b]. */
export function unembedCosine(m: ReferenceModel, a: number, b: number): number {
  const u = m.unembedColumn(a);
  const v = m.unembedColumn(b);
  return dot(u, v) / (vecNorm(u) * vecNorm(v));
}

/** 5.1: resid_post[11][0, -1] · unit(mean W_E[positive] - mean W_E[negative]) for each sentence. */
export function sentimentScores(m: ReferenceModel, positive: number[], negative: number[], sentences: number[][]): number[] {
  const D = m.p.dModel;
  const dir = new Float64Array(D);
  for (const id of positive) m.embedRow(id).forEach((x, i) => (dir[i] += x / positive.length));
  for (const id of negative) m.embedRow(id).forEach((x, i) => (dir[i] -= x / negative.length));
  const n = vecNorm(dir);
  for (let i = 0; i < D; i++) dir[i] /= n;
  return sentences.map((tokens) => dot(rowAt(m.run(tokens).cache.get(`blocks.${m.nLayers - 1}.hook_resid_post`)!, -1), dir));
}

/** 6.1: mean |cos| over ordered pairs i ≠ j of the W_U columns `ids`. */
export function meanAbsOffDiagonalCosine(m: ReferenceModel, ids: number[]): number {
  const unit = ids.map((id) => {
    const v = m.unembedColumn(id);
    const n = vecNorm(v);
    return v.map((x) => x / n);
  });
  let sum = 0;
  for (let i = 0; i < ids.length; i++) for (let j = 0; j < ids.length; j++) if (i !== j) sum += Math.abs(dot(unit[i], unit[j]));
  return sum / (ids.length * (ids.length - 1));
}

/** 9.1: the SAE's k most active features on resid_pre[layer][0, -1]: [feature, activation] pairs. */
export function saeTopFeatures(m: ReferenceModel, sae: ReferenceSae, tokens: number[], layer: number, k: number): [number, number][] {
  const resid = rowAt(m.run(tokens).cache.get(`blocks.${layer}.hook_resid_pre`)!, -1);
  const acts = referenceEncode(sae, resid);
  return topKIndices(acts, k).map((f) => [f, acts[f]]);
}

/** 10.1: sums over layers of mlp_out and attn_out at the last position dotted with W_U[:, id]. */
export function mlpVsAttention(m: ReferenceModel, tokens: number[], id: number): { mlp: number; attn: number } {
  const { cache } = m.run(tokens);
  const dir = m.unembedColumn(id);
  let mlp = 0;
  let attn = 0;
  for (let l = 0; l < m.nLayers; l++) {
    mlp += dot(rowAt(cache.get(`blocks.${l}.hook_mlp_out`)!, -1), dir);
    attn += dot(rowAt(cache.get(`blocks.${l}.hook_attn_out`)!, -1), dir);
  }
  return { mlp, attn };
}

/** 11.1: clean last-position logits with resid_post[layer][:, -1] taken from the corrupt run. */
export function patchedLastPosition(m: ReferenceModel, clean: number[], corrupt: number[], layer: number): Float64Array {
  const name = `blocks.${layer}.hook_resid_post`;
  return m.lastLogits(clean, { [name]: patchPositionHook(m.run(corrupt).cache.get(name)!, -1) });
}

/** A hook that zeroes head `head` of a [1, pos, head, d_head] activation (attn.hook_z). */
export function zeroHeadHook(head: number): ReferenceHook {
  return (act) => {
    const [, P, H, E] = act.shape;
    const out = { shape: [...act.shape], data: Float64Array.from(act.data) };
    for (let t = 0; t < P; t++) out.data.fill(0, (t * H + head) * E, (t * H + head + 1) * E);
    return out;
  };
}

/** 12.1: [L{l}H{h}, baseline logit - logit with that head's z zeroed] for every head, layer by layer. */
export function headAblationDrops(m: ReferenceModel, tokens: number[], id: number): { baseline: number; drops: [string, number][] } {
  const baseline = m.lastLogits(tokens)[id];
  const drops: [string, number][] = [];
  for (let l = 0; l < m.nLayers; l++) {
    for (let h = 0; h < m.nHeads; h++) {
      drops.push([`L${l}H${h}`, baseline - m.lastLogits(tokens, { [`blocks.${l}.attn.hook_z`]: zeroHeadHook(h) })[id]]);
    }
  }
  return { baseline, drops };
}
