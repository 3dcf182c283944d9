/**
 * GPT-2's weights processed the way TransformerLens's process_weights does (fold_ln,
 * center_writing_weights, center_unembed, fold_value_biases), in float64 with plain loops. The
 * naive forward on these weights is what fromPretrained's processed model computes, and their
 * unembed / wte / attnProjW are the model.W_U / W_E / W_O the notebooks read. reference.test.ts
 * checks them against the activation identities of processed.ts.
 */
import { Gpt2Params } from "./naiveGpt2";

/**
 * An independent cross-check of the identities: process the weights the way TransformerLens's
 * process_weights does (fold_ln, center_writing_weights, center_unembed, fold_value_biases) and
 * run the naive forward on them, with LayerNorm weight 1 and bias 0 standing in for LayerNormPre.
 */
export function processWeightsByHand(p: Gpt2Params): Gpt2Params {
  const D = p.dModel;
  const M = p.dMlp;
  const V = p.dVocab;
  const centerRows = (a: Float64Array, rows: number, cols: number) => {
    const out = Float64Array.from(a);
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let c = 0; c < cols; c++) m += a[r * cols + c];
      m /= cols;
      for (let c = 0; c < cols; c++) out[r * cols + c] -= m;
    }
    return out;
  };
  const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;
  const ones = new Float64Array(D).fill(1);
  const zeros = new Float64Array(D);
  const layers = p.layers.map((L) => {
    // fold ln1 into c_attn [D, 3D]: b += ln.b @ W, W *= ln.w (rows), then centre over the input axis.
    const cAttnW = new Float64Array(D * 3 * D);
    const cAttnB = Float64Array.from(L.cAttnB);
    for (let o = 0; o < 3 * D; o++) {
      let colMean = 0;
      for (let i = 0; i < D; i++) {
        cAttnB[o] += L.ln1B[i] * L.cAttnW[i * 3 * D + o];
        cAttnW[i * 3 * D + o] = L.ln1W[i] * L.cAttnW[i * 3 * D + o];
        colMean += cAttnW[i * 3 * D + o];
      }
      colMean /= D;
      for (let i = 0; i < D; i++) cAttnW[i * 3 * D + o] -= colMean;
    }
    // centre W_O over d_model (its output axis) and b_O; then fold b_V into b_O and zero b_V.
    const attnProjW = centerRows(L.attnProjW, D, D);
    const attnProjB = Float64Array.from(L.attnProjB).map((x) => x - mean(L.attnProjB));
    for (let o = 0; o < D; o++) for (let j = 0; j < D; j++) attnProjB[o] += cAttnB[2 * D + j] * attnProjW[j * D + o];
    for (let j = 0; j < D; j++) cAttnB[2 * D + j] = 0;
    // fold ln2 into c_fc [D, M], centre over the input axis; centre W_out / b_out over d_model.
    const fcW = new Float64Array(D * M);
    const fcB = Float64Array.from(L.fcB);
    for (let o = 0; o < M; o++) {
      let colMean = 0;
      for (let i = 0; i < D; i++) {
        fcB[o] += L.ln2B[i] * L.fcW[i * M + o];
        fcW[i * M + o] = L.ln2W[i] * L.fcW[i * M + o];
        colMean += fcW[i * M + o];
      }
      colMean /= D;
      for (let i = 0; i < D; i++) fcW[i * M + o] -= colMean;
    }
    const mlpProjW = centerRows(L.mlpProjW, M, D);
    const mlpProjB = Float64Array.from(L.mlpProjB).map((x) => x - mean(L.mlpProjB));
    return { ln1W: ones, ln1B: zeros, cAttnW, cAttnB, attnProjW, attnProjB, ln2W: ones, ln2B: zeros, fcW, fcB, mlpProjW, mlpProjB };
  });
  // Unembed (stored [V, D]): b_U = ln_f.b @ W_U, W_U *= ln_f.w, centre over d_model, then centre W_U and b_U over the vocab.
  const unembed = new Float64Array(V * D);
  const unembedBias = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    let m = 0;
    for (let i = 0; i < D; i++) {
      unembedBias[v] += p.lnfB[i] * p.unembed[v * D + i];
      unembed[v * D + i] = p.lnfW[i] * p.unembed[v * D + i];
      m += unembed[v * D + i];
    }
    for (let i = 0; i < D; i++) unembed[v * D + i] -= m / D;
  }
  for (let i = 0; i < D; i++) {
    let m = 0;
    for (let v = 0; v < V; v++) m += unembed[v * D + i];
    for (let v = 0; v < V; v++) unembed[v * D + i] -= m / V;
  }
  const bMean = mean(unembedBias);
  return {
    ...p, layers,
    wte: centerRows(p.wte, V, D), wpe: centerRows(p.wpe, p.nCtx, D),
    lnfW: ones, lnfB: zeros, unembed, unembedBias: unembedBias.map((x) => x - bMean),
  };
}
