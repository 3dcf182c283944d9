/**
 * TransformerLens's default weight processing (HookedTransformer.process_weights_), as pure functions
 * over TransformerLens-named state dicts. Each returns a new state dict; tensors it does not change
 * are shared with the input, and the input is never written to.
 *
 * - foldLayerNorm: LN(x) = normalized(x) * w + b feeds a linear map W, b_W; so W' = diag(w) W and
 *   b_W' = b_W + b W. The LayerNorm keeps only its centre-and-scale part (LNPre). With centring, W'
 *   is then centred over d_model: the input to W' is already centred, so this changes no output.
 * - centerWritingWeights: everything writing to the residual stream (W_E, W_pos, W_O, b_O, W_out,
 *   b_out) gets zero mean over d_model. LayerNorm removes the mean anyway, so outputs are unchanged.
 * - centerUnembed: W_U and b_U get zero mean over d_vocab; logits shift by a constant per position,
 *   log-probs do not change.
 * - foldValueBiases: patterns sum to 1, so each head's b_V adds the constant b_V W_O to the layer's
 *   output; fold it into b_O and zero b_V.
 */
import { HookedTransformerConfig } from "../model/config";
import { HostTensor, StateDict, hostTensor } from "./hostTensor";

export interface ProcessWeightsOptions {
  foldLn?: boolean;
  centerWritingWeights?: boolean;
  centerUnembed?: boolean;
  foldValueBiases?: boolean;
}

function req(sd: StateDict, key: string): HostTensor {
  const t = sd.get(key);
  if (!t) throw new Error(`Weight processing: state dict has no "${key}"`);
  return t;
}

/**
 * Folds LayerNorm `ln` (w, b [rows]) into a stack of matrices W [groups, rows, cols] and biases
 * b [groups, cols] that read its output. Optionally centres each W[g, :, c] over rows.
 */
function foldInto(
  w: Float32Array,
  b: Float32Array,
  W: HostTensor,
  bias: HostTensor,
  center: boolean
): { W: HostTensor; bias: HostTensor } {
  const cols = W.shape[W.shape.length - 1];
  const rows = W.shape[W.shape.length - 2];
  const groups = W.data.length / (rows * cols);
  const newW = new Float32Array(W.data.length);
  const newB = new Float32Array(bias.data);
  for (let g = 0; g < groups; g++) {
    const base = g * rows * cols;
    const sum = new Float64Array(cols);
    const biasAcc = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const wr = w[r];
      const br = b[r];
      const off = base + r * cols;
      for (let c = 0; c < cols; c++) {
        const x = W.data[off + c];
        biasAcc[c] += x * br;
        const y = x * wr;
        newW[off + c] = y;
        sum[c] += y;
      }
    }
    for (let c = 0; c < cols; c++) newB[g * cols + c] += biasAcc[c];
    if (center) {
      for (let c = 0; c < cols; c++) sum[c] /= rows;
      for (let r = 0; r < rows; r++) {
        const off = base + r * cols;
        for (let c = 0; c < cols; c++) newW[off + c] -= sum[c];
      }
    }
  }
  return { W: hostTensor([...W.shape], newW), bias: hostTensor([...bias.shape], newB) };
}

/** Subtracts from every row of `t` (viewed as [..., n]) its mean over the last axis. */
function centerLastAxis(t: HostTensor): HostTensor {
  const n = t.shape[t.shape.length - 1];
  const out = new Float32Array(t.data.length);
  for (let off = 0; off < t.data.length; off += n) {
    let s = 0;
    for (let i = 0; i < n; i++) s += t.data[off + i];
    const mean = s / n;
    for (let i = 0; i < n; i++) out[off + i] = t.data[off + i] - mean;
  }
  return hostTensor([...t.shape], out);
}

export function foldLayerNorm(sd: StateDict, cfg: HookedTransformerConfig, { center = true } = {}): StateDict {
  const out: StateDict = new Map(sd);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `blocks.${l}.`;
    const ln1w = req(sd, p + "ln1.w").data;
    const ln1b = req(sd, p + "ln1.b").data;
    for (const x of ["Q", "K", "V"]) {
      const folded = foldInto(ln1w, ln1b, req(sd, p + `attn.W_${x}`), req(sd, p + `attn.b_${x}`), center);
      out.set(p + `attn.W_${x}`, folded.W).set(p + `attn.b_${x}`, folded.bias);
    }
    const ln2 = foldInto(req(sd, p + "ln2.w").data, req(sd, p + "ln2.b").data, req(sd, p + "mlp.W_in"), req(sd, p + "mlp.b_in"), center);
    out.set(p + "mlp.W_in", ln2.W).set(p + "mlp.b_in", ln2.bias);
    for (const k of ["ln1.w", "ln1.b", "ln2.w", "ln2.b"]) out.delete(p + k);
  }
  const fin = foldInto(req(sd, "ln_final.w").data, req(sd, "ln_final.b").data, req(sd, "unembed.W_U"), req(sd, "unembed.b_U"), center);
  out.set("unembed.W_U", fin.W).set("unembed.b_U", fin.bias);
  out.delete("ln_final.w");
  out.delete("ln_final.b");
  return out;
}

export function centerWritingWeights(sd: StateDict, cfg: HookedTransformerConfig): StateDict {
  const out: StateDict = new Map(sd);
  for (const k of ["embed.W_E", "pos_embed.W_pos"]) out.set(k, centerLastAxis(req(sd, k)));
  for (let l = 0; l < cfg.nLayers; l++) {
    for (const k of [`blocks.${l}.attn.W_O`, `blocks.${l}.attn.b_O`, `blocks.${l}.mlp.W_out`, `blocks.${l}.mlp.b_out`]) {
      // b_O and b_out are [d_model], so "last axis" is the whole vector: its mean is subtracted.
      out.set(k, centerLastAxis(req(sd, k)));
    }
  }
  return out;
}

export function centerUnembed(sd: StateDict): StateDict {
  const out: StateDict = new Map(sd);
  out.set("unembed.W_U", centerLastAxis(req(sd, "unembed.W_U")));
  out.set("unembed.b_U", centerLastAxis(req(sd, "unembed.b_U")));
  return out;
}

export function foldValueBiases(sd: StateDict, cfg: HookedTransformerConfig): StateDict {
  const out: StateDict = new Map(sd);
  const { nHeads: H, dHead: E, dModel: D } = cfg;
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `blocks.${l}.attn.`;
    const bV = req(sd, p + "b_V").data; // [H, E]
    const WO = req(sd, p + "W_O").data; // [H, E, D]
    const bO = new Float64Array(req(sd, p + "b_O").data);
    for (let h = 0; h < H; h++) {
      for (let e = 0; e < E; e++) {
        const v = bV[h * E + e];
        const row = (h * E + e) * D;
        for (let d = 0; d < D; d++) bO[d] += v * WO[row + d];
      }
    }
    out.set(p + "b_O", hostTensor([D], Float32Array.from(bO)));
    out.set(p + "b_V", hostTensor([H, E]));
  }
  return out;
}

/** Applies the requested steps in TransformerLens's order; returns the new state dict and config. */
export function processWeights(
  sd: StateDict,
  cfg: HookedTransformerConfig,
  options: ProcessWeightsOptions = {}
): { stateDict: StateDict; cfg: HookedTransformerConfig } {
  const { foldLn = true, centerWritingWeights: centerW = true, centerUnembed: centerU = true, foldValueBiases: foldV = true } = options;
  let out = sd;
  let newCfg = cfg;
  if (foldLn) {
    out = foldLayerNorm(out, cfg);
    newCfg = { ...cfg, normalizationType: "LNPre" };
  }
  if (centerW) out = centerWritingWeights(out, cfg);
  if (centerU) out = centerUnembed(out);
  if (foldV) out = foldValueBiases(out, cfg);
  return { stateDict: out, cfg: newCfg };
}
