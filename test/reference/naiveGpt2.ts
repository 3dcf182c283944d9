/**
 * An independent GPT-2 forward pass in float64 with plain loops: the reference every library
 * activation, logit and loss is checked against. It imports nothing from src/ and no tfjs.
 *
 * It computes what TransformerLens's HookedTransformer computes for GPT-2 loaded with
 * `from_pretrained_no_processing`, and records each hook point under TransformerLens's name:
 *
 *   hook_embed, hook_pos_embed                        [batch, pos, d_model]
 *   blocks.L.hook_resid_pre                           [batch, pos, d_model]
 *   blocks.L.ln1.hook_scale                           [batch, pos, 1]   sqrt(mean(x_centered^2) + eps)
 *   blocks.L.ln1.hook_normalized                      [batch, pos, d_model]   x_centered / scale * w + b
 *   blocks.L.attn.hook_q / hook_k / hook_v            [batch, pos, head, d_head]
 *   blocks.L.attn.hook_attn_scores                    [batch, head, query, key]  q.k / sqrt(d_head), -Infinity above the diagonal
 *   blocks.L.attn.hook_pattern                        [batch, head, query, key]
 *   blocks.L.attn.hook_z                              [batch, pos, head, d_head]
 *   blocks.L.hook_attn_out, blocks.L.hook_resid_mid   [batch, pos, d_model]
 *   blocks.L.ln2.hook_scale / hook_normalized
 *   blocks.L.mlp.hook_pre / hook_post                 [batch, pos, d_mlp]
 *   blocks.L.hook_mlp_out, blocks.L.hook_resid_post   [batch, pos, d_model]
 *   ln_final.hook_scale / hook_normalized
 *
 * (TransformerLens: components/layer_norm.py puts hook_normalized on the LayerNorm *output*, after
 * the weight and bias; LayerNormPre, used once LayerNorm is folded, has no weight, so there it is
 * x_centered / scale. See processed.ts.)
 *
 * Hooks work as in TransformerLens: a hook sees the activation and may return a replacement (same
 * shape) or edit it in place; what it leaves is what flows downstream and what is cached.
 */

export interface NdArray {
  shape: number[];
  /** Row-major values. */
  data: Float64Array;
}

/** A tensor as a reader hands it over (name → shape + float64 values). */
export interface WeightTensor {
  shape: number[];
  data: Float64Array;
}

/** The config.json fields of a Hugging Face GPT2Config that the forward pass uses. */
export interface Gpt2Config {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  layer_norm_epsilon: number;
  activation_function?: string;
  n_inner?: number | null;
}

/** A hook sees the activation (and its name); return a replacement or nothing. */
export type ReferenceHook = (activation: NdArray, hookName: string) => NdArray | void;

export interface NaiveForwardOptions {
  /** Hook name → function, applied where TransformerLens applies it. */
  hooks?: Record<string, ReferenceHook>;
}

export interface NaiveForwardResult {
  /** [batch, pos, d_vocab] */
  logits: NdArray;
  /** Every hook point's activation (after its hook), in the order TransformerLens fills its cache. */
  cache: Map<string, NdArray>;
}

export function ndarray(shape: number[], data?: Float64Array): NdArray {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== size) throw new Error(`ndarray: ${data.length} values for shape [${shape.join(", ")}]`);
  return { shape: [...shape], data: data ?? new Float64Array(size) };
}

export function cloneNd(a: NdArray): NdArray {
  return { shape: [...a.shape], data: Float64Array.from(a.data) };
}

/** TransformerLens's hook names for a GPT-2 with `nLayers` blocks, in cache order (208 for 12 layers). */
export function transformerLensHookNames(nLayers: number): string[] {
  const names = ["hook_embed", "hook_pos_embed"];
  for (let l = 0; l < nLayers; l++) {
    const b = `blocks.${l}`;
    names.push(
      `${b}.hook_resid_pre`,
      `${b}.ln1.hook_scale`,
      `${b}.ln1.hook_normalized`,
      `${b}.attn.hook_q`,
      `${b}.attn.hook_k`,
      `${b}.attn.hook_v`,
      `${b}.attn.hook_attn_scores`,
      `${b}.attn.hook_pattern`,
      `${b}.attn.hook_z`,
      `${b}.hook_attn_out`,
      `${b}.hook_resid_mid`,
      `${b}.ln2.hook_scale`,
      `${b}.ln2.hook_normalized`,
      `${b}.mlp.hook_pre`,
      `${b}.mlp.hook_post`,
      `${b}.hook_mlp_out`,
      `${b}.hook_resid_post`
    );
  }
  names.push("ln_final.hook_scale", "ln_final.hook_normalized");
  return names;
}

/** gelu_new (GPT-2's tanh approximation): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

// ---------------------------------------------------------------------------------------------
// Parameters, read from the Hugging Face names (Conv1D weights are stored [in, out])
// ---------------------------------------------------------------------------------------------

export interface LayerParams {
  ln1W: Float64Array; ln1B: Float64Array;
  /** [d_model, 3 d_model]: columns q | k | v, each head-major (head h, dim e → h*d_head + e). */
  cAttnW: Float64Array; cAttnB: Float64Array;
  /** [d_model (= head*d_head), d_model] */
  attnProjW: Float64Array; attnProjB: Float64Array;
  ln2W: Float64Array; ln2B: Float64Array;
  /** [d_model, d_mlp] */
  fcW: Float64Array; fcB: Float64Array;
  /** [d_mlp, d_model] */
  mlpProjW: Float64Array; mlpProjB: Float64Array;
}

export interface Gpt2Params {
  dModel: number; nHeads: number; dHead: number; dMlp: number; dVocab: number; nCtx: number; nLayers: number; eps: number;
  /** [d_vocab, d_model] */
  wte: Float64Array;
  /** [n_positions, d_model] */
  wpe: Float64Array;
  layers: LayerParams[];
  lnfW: Float64Array; lnfB: Float64Array;
  /** [d_vocab, d_model]: lm_head.weight (nn.Linear, out × in), or wte when tied. */
  unembed: Float64Array;
  /** [d_vocab]: GPT-2 has none; set only by tests that build a processed model by hand. */
  unembedBias?: Float64Array;
}

/** Picks GPT-2's parameters out of a name → tensor map (keys with or without "transformer."). */
export function gpt2Params(weights: Map<string, WeightTensor>, config: Gpt2Config): Gpt2Params {
  const d = config.n_embd;
  const nHeads = config.n_head;
  const dMlp = config.n_inner ?? 4 * d;
  const act = config.activation_function ?? "gelu_new";
  if (act !== "gelu_new") throw new Error(`naive reference: only gelu_new is implemented, config says ${act}`);
  const get = (name: string, shape: number[]): Float64Array => {
    const t = weights.get(name) ?? weights.get(`transformer.${name}`);
    if (!t) throw new Error(`naive reference: tensor "${name}" missing`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new Error(`naive reference: "${name}" has shape [${t.shape}], expected [${shape}]`);
    }
    return t.data;
  };
  const layers: LayerParams[] = [];
  for (let l = 0; l < config.n_layer; l++) {
    const h = `h.${l}`;
    layers.push({
      ln1W: get(`${h}.ln_1.weight`, [d]), ln1B: get(`${h}.ln_1.bias`, [d]),
      cAttnW: get(`${h}.attn.c_attn.weight`, [d, 3 * d]), cAttnB: get(`${h}.attn.c_attn.bias`, [3 * d]),
      attnProjW: get(`${h}.attn.c_proj.weight`, [d, d]), attnProjB: get(`${h}.attn.c_proj.bias`, [d]),
      ln2W: get(`${h}.ln_2.weight`, [d]), ln2B: get(`${h}.ln_2.bias`, [d]),
      fcW: get(`${h}.mlp.c_fc.weight`, [d, dMlp]), fcB: get(`${h}.mlp.c_fc.bias`, [dMlp]),
      mlpProjW: get(`${h}.mlp.c_proj.weight`, [dMlp, d]), mlpProjB: get(`${h}.mlp.c_proj.bias`, [d]),
    });
  }
  const wte = get("wte.weight", [config.vocab_size, d]);
  const lmHead = weights.get("lm_head.weight");
  return {
    dModel: d, nHeads, dHead: d / nHeads, dMlp, dVocab: config.vocab_size, nCtx: config.n_positions,
    nLayers: config.n_layer, eps: config.layer_norm_epsilon,
    wte, wpe: get("wpe.weight", [config.n_positions, d]), layers,
    lnfW: get("ln_f.weight", [d]), lnfB: get("ln_f.bias", [d]),
    unembed: lmHead ? get("lm_head.weight", [config.vocab_size, d]) : wte,
  };
}

// ---------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------

class HookRunner {
  readonly cache = new Map<string, NdArray>();
  constructor(private readonly hooks: Record<string, ReferenceHook>) {}

  /** Passes `value` through the hook named `name` (if any), caches and returns what comes out. */
  point(name: string, value: NdArray): NdArray {
    let out = value;
    const hook = this.hooks[name];
    if (hook) {
      const replaced = hook(value, name);
      if (replaced) {
        if (replaced.shape.length !== value.shape.length || replaced.shape.some((s, i) => s !== value.shape[i])) {
          throw new Error(`naive reference: hook ${name} returned shape [${replaced.shape}], expected [${value.shape}]`);
        }
        out = replaced;
      }
    }
    this.cache.set(name, cloneNd(out));
    return out;
  }
}

/**
 * LayerNorm as TransformerLens's components/layer_norm.py: centre, scale = sqrt(mean(x^2) + eps)
 * (hook_scale), divide, multiply by w and add b (hook_normalized on the result).
 * x: [batch, pos, d] → [batch, pos, d]
 */
function layerNorm(x: NdArray, w: Float64Array, b: Float64Array, eps: number, prefix: string, run: HookRunner): NdArray {
  const [B, P, D] = x.shape;
  const centered = ndarray([B, P, D]);
  let scale = ndarray([B, P, 1]);
  for (let r = 0; r < B * P; r++) {
    let mean = 0;
    for (let i = 0; i < D; i++) mean += x.data[r * D + i];
    mean /= D;
    let sq = 0;
    for (let i = 0; i < D; i++) {
      const c = x.data[r * D + i] - mean;
      centered.data[r * D + i] = c;
      sq += c * c;
    }
    scale.data[r] = Math.sqrt(sq / D + eps);
  }
  scale = run.point(`${prefix}.hook_scale`, scale);
  const out = ndarray([B, P, D]);
  for (let r = 0; r < B * P; r++) {
    for (let i = 0; i < D; i++) out.data[r * D + i] = (centered.data[r * D + i] / scale.data[r]) * w[i] + b[i];
  }
  return run.point(`${prefix}.hook_normalized`, out);
}

/** y[r, o] = sum_i x[r, i] W[i, colOffset + o] + bias[colOffset + o], W stored [in, ldw]. */
function affine(
  x: Float64Array, rows: number, nIn: number,
  W: Float64Array, ldw: number, colOffset: number, nOut: number, bias: Float64Array
): Float64Array {
  const y = new Float64Array(rows * nOut);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < nOut; o++) {
      let s = bias[colOffset + o];
      for (let i = 0; i < nIn; i++) s += x[r * nIn + i] * W[i * ldw + colOffset + o];
      y[r * nOut + o] = s;
    }
  }
  return y;
}

function attention(x: NdArray, p: Gpt2Params, layer: LayerParams, prefix: string, run: HookRunner): NdArray {
  const [B, P, D] = x.shape;
  const H = p.nHeads;
  const E = p.dHead;
  // q, k, v: [batch, pos, head, d_head] = columns [0, d), [d, 2d), [2d, 3d) of c_attn.
  const q = run.point(`${prefix}.hook_q`, ndarray([B, P, H, E], affine(x.data, B * P, D, layer.cAttnW, 3 * D, 0, D, layer.cAttnB)));
  const k = run.point(`${prefix}.hook_k`, ndarray([B, P, H, E], affine(x.data, B * P, D, layer.cAttnW, 3 * D, D, D, layer.cAttnB)));
  const v = run.point(`${prefix}.hook_v`, ndarray([B, P, H, E], affine(x.data, B * P, D, layer.cAttnW, 3 * D, 2 * D, D, layer.cAttnB)));

  // scores: [batch, head, query, key]; keys after the query are masked with -Infinity.
  let scores = ndarray([B, H, P, P]);
  const attnScale = Math.sqrt(E);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < P; i++)
        for (let j = 0; j < P; j++) {
          let s = -Infinity;
          if (j <= i) {
            s = 0;
            for (let e = 0; e < E; e++) s += q.data[((b * P + i) * H + h) * E + e] * k.data[((b * P + j) * H + h) * E + e];
            s /= attnScale;
          }
          scores.data[((b * H + h) * P + i) * P + j] = s;
        }
  scores = run.point(`${prefix}.hook_attn_scores`, scores);

  // pattern: softmax over keys; a row with no finite score gives zeros (TransformerLens maps NaN to 0).
  const pattern = ndarray([B, H, P, P]);
  for (let row = 0; row < B * H * P; row++) {
    let max = -Infinity;
    for (let j = 0; j < P; j++) max = Math.max(max, scores.data[row * P + j]);
    if (max === -Infinity || Number.isNaN(max)) continue;
    let sum = 0;
    for (let j = 0; j < P; j++) {
      const e = Math.exp(scores.data[row * P + j] - max);
      pattern.data[row * P + j] = e;
      sum += e;
    }
    for (let j = 0; j < P; j++) pattern.data[row * P + j] /= sum;
  }
  const pat = run.point(`${prefix}.hook_pattern`, pattern);

  // z: [batch, query, head, d_head] = sum over keys of pattern * v
  const z0 = ndarray([B, P, H, E]);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < P; i++)
        for (let e = 0; e < E; e++) {
          let s = 0;
          for (let j = 0; j < P; j++) s += pat.data[((b * H + h) * P + i) * P + j] * v.data[((b * P + j) * H + h) * E + e];
          z0.data[((b * P + i) * H + h) * E + e] = s;
        }
  const z = run.point(`${prefix}.hook_z`, z0);

  // out: [batch, pos, d_model] = z flattened (head-major) through c_proj
  return ndarray([B, P, D], affine(z.data, B * P, H * E, layer.attnProjW, D, 0, D, layer.attnProjB));
}

function add(a: NdArray, b: NdArray): NdArray {
  const out = ndarray(a.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i] + b.data[i];
  return out;
}

/** Validates tokens: a non-empty rectangular batch of ids in [0, d_vocab) no longer than n_ctx. */
function checkTokens(tokens: number[][], p: Gpt2Params): void {
  if (tokens.length === 0 || tokens[0].length === 0) throw new Error("naive reference: empty tokens");
  const P = tokens[0].length;
  if (P > p.nCtx) throw new Error(`naive reference: ${P} tokens exceed n_ctx ${p.nCtx}`);
  for (const row of tokens) {
    if (row.length !== P) throw new Error("naive reference: ragged token batch");
    for (const t of row) if (!Number.isInteger(t) || t < 0 || t >= p.dVocab) throw new Error(`naive reference: token ${t} out of range`);
  }
}

/**
 * GPT-2 forward in float64. `weights`: tensors by Hugging Face name (as readSafetensorsF64 returns);
 * `config`: config.json; `tokens`: [batch][pos].
 */
export function naiveForward(
  weights: Map<string, WeightTensor> | Gpt2Params,
  config: Gpt2Config,
  tokens: number[][],
  options: NaiveForwardOptions = {}
): NaiveForwardResult {
  const p = weights instanceof Map ? gpt2Params(weights, config) : weights;
  checkTokens(tokens, p);
  const run = new HookRunner(options.hooks ?? {});
  const B = tokens.length;
  const P = tokens[0].length;
  const D = p.dModel;

  const embed0 = ndarray([B, P, D]);
  const pos0 = ndarray([B, P, D]);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < P; t++)
      for (let i = 0; i < D; i++) {
        embed0.data[(b * P + t) * D + i] = p.wte[tokens[b][t] * D + i];
        pos0.data[(b * P + t) * D + i] = p.wpe[t * D + i];
      }
  const embed = run.point("hook_embed", embed0);
  const posEmbed = run.point("hook_pos_embed", pos0);
  let residual = add(embed, posEmbed);

  for (let l = 0; l < p.nLayers; l++) {
    const layer = p.layers[l];
    const blk = `blocks.${l}`;
    const residPre = run.point(`${blk}.hook_resid_pre`, residual);
    const ln1 = layerNorm(residPre, layer.ln1W, layer.ln1B, p.eps, `${blk}.ln1`, run);
    const attnOut = run.point(`${blk}.hook_attn_out`, attention(ln1, p, layer, `${blk}.attn`, run));
    const residMid = run.point(`${blk}.hook_resid_mid`, add(residPre, attnOut));
    const ln2 = layerNorm(residMid, layer.ln2W, layer.ln2B, p.eps, `${blk}.ln2`, run);
    const pre = run.point(`${blk}.mlp.hook_pre`, ndarray([B, P, p.dMlp], affine(ln2.data, B * P, D, layer.fcW, p.dMlp, 0, p.dMlp, layer.fcB)));
    const post0 = ndarray([B, P, p.dMlp]);
    for (let i = 0; i < post0.data.length; i++) post0.data[i] = geluNew(pre.data[i]);
    const post = run.point(`${blk}.mlp.hook_post`, post0);
    const mlpOut = run.point(`${blk}.hook_mlp_out`, ndarray([B, P, D], affine(post.data, B * P, p.dMlp, layer.mlpProjW, D, 0, D, layer.mlpProjB)));
    residual = run.point(`${blk}.hook_resid_post`, add(residMid, mlpOut));
  }

  const final = layerNorm(residual, p.lnfW, p.lnfB, p.eps, "ln_final", run);
  // logits[b, t, v] = sum_i final[b, t, i] * unembed[v, i]   (GPT-2 has no unembedding bias)
  const V = p.dVocab;
  const logits = ndarray([B, P, V]);
  for (let r = 0; r < B * P; r++) {
    for (let v = 0; v < V; v++) {
      let s = p.unembedBias ? p.unembedBias[v] : 0;
      for (let i = 0; i < D; i++) s += final.data[r * D + i] * p.unembed[v * D + i];
      logits.data[r * V + v] = s;
    }
  }
  return { logits, cache: run.cache };
}

/** log_softmax over the last axis of [batch, pos, d_vocab]. */
export function logSoftmax(logits: NdArray): NdArray {
  const V = logits.shape[logits.shape.length - 1];
  const out = ndarray(logits.shape);
  for (let r = 0; r < logits.data.length / V; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits.data[r * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits.data[r * V + v] - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out.data[r * V + v] = logits.data[r * V + v] - lse;
  }
  return out;
}

/**
 * Next-token cross-entropy as TransformerLens's utils.lm_cross_entropy_loss: position t predicts
 * token t+1. perToken → [batch, pos - 1]; otherwise the mean over all of them.
 */
export function lmCrossEntropyLoss(logits: NdArray, tokens: number[][], options: { perToken: true }): NdArray;
export function lmCrossEntropyLoss(logits: NdArray, tokens: number[][], options?: { perToken?: false }): number;
export function lmCrossEntropyLoss(logits: NdArray, tokens: number[][], options: { perToken?: boolean } = {}): NdArray | number {
  const [B, P, V] = logits.shape;
  const logProbs = logSoftmax(logits);
  const perToken = ndarray([B, P - 1]);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < P - 1; t++) perToken.data[b * (P - 1) + t] = -logProbs.data[(b * P + t) * V + tokens[b][t + 1]];
  if (options.perToken) return perToken;
  let sum = 0;
  for (const x of perToken.data) sum += x;
  return sum / perToken.data.length;
}

/**
 * Greedy continuation: `count` times, append the argmax of the last position's logits (a full
 * forward each time, no cache; `options.hooks` apply at every step). margins[step] is the smallest gap, over the batch, between the
 * best and second-best logit: a float32 model agrees with this only where the gap is not tiny.
 * @param tokens [batch][pos] @returns tokens [batch][pos + count], stepLogits[step] [batch][d_vocab]
 */
export function naiveGreedyContinuation(
  weights: Map<string, WeightTensor> | Gpt2Params,
  config: Gpt2Config,
  tokens: number[][],
  count: number,
  options: NaiveForwardOptions = {}
): { tokens: number[][]; margins: number[]; stepLogits: number[][][] } {
  const p = weights instanceof Map ? gpt2Params(weights, config) : weights;
  const rows = tokens.map((r) => [...r]);
  const margins: number[] = [];
  const stepLogits: number[][][] = [];
  for (let step = 0; step < count; step++) {
    const { logits } = naiveForward(p, config, rows, options);
    const [B, P, V] = logits.shape;
    let margin = Infinity;
    const last: number[][] = [];
    for (let b = 0; b < B; b++) {
      const row = Array.from(logits.data.subarray((b * P + P - 1) * V, (b * P + P) * V));
      let best = 0;
      for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
      let second = -Infinity;
      for (let v = 0; v < V; v++) if (v !== best) second = Math.max(second, row[v]);
      margin = Math.min(margin, row[best] - second);
      rows[b].push(best);
      last.push(row);
    }
    margins.push(margin);
    stepLogits.push(last);
  }
  return { tokens: rows, margins, stepLogits };
}
