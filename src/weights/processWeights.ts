/**
 * TransformerLens's default weight processing (HookedTransformer.process_weights_), as functions
 * from a TransformerLens-named state dict to a new one. They never modify their input, and dispose
 * it only when told to consume it (`{ consume: true }`, what processWeights does); tensors a step
 * does not change are shared with the output. The work runs on the tfjs backend
 * (WebAssembly or native), not in JavaScript loops.
 *
 * - foldLayerNorm: LN(x) = normalized(x) * w + b feeds a linear map W, b_W; so W' = diag(w) W and
 *   b_W' = b_W + b W. The LayerNorm keeps only its centre-and-scale part (LNPre). W' is then centred
 *   over d_model: its input is already centred, so this changes no output.
 * - centerWritingWeights: everything writing to the residual stream (W_E, W_pos, W_O, b_O, W_out,
 *   b_out) gets zero mean over d_model. LayerNorm removes the mean anyway, so outputs are unchanged.
 * - centerUnembed: W_U and b_U get zero mean over d_vocab; each position's logits shift by a
 *   constant, log-probs do not change.
 * - foldValueBiases: patterns sum to 1, so each head's b_V adds the constant b_V W_O to the layer's
 *   output; fold it into b_O and zero b_V.
 */
import { tf } from "../backend";
import { HookedTransformerConfig } from "../model/config";
import { centerLastAxis, scaleCenterColumns } from "../model/fusedOps";
import { StateDictUpdate, TensorStateDict, requireTensor } from "./stateDict";

export interface ProcessWeightsOptions {
  foldLn?: boolean;
  centerWritingWeights?: boolean;
  centerUnembed?: boolean;
  foldValueBiases?: boolean;
}

/**
 * Folds a LayerNorm (w, b [d]) into the matrices that read it.
 * @param W [..., d, out] @param bias [..., out] @returns W' = w ⊙ W centred over d, bias' = bias + b·W
 */
function foldInto(w: tf.Tensor1D, b: tf.Tensor1D, W: tf.Tensor, bias: tf.Tensor, center: boolean): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const d = w.shape[0];
    const out = W.shape[W.rank - 1];
    const groups = W.size / (d * out);
    const W3 = tf.reshape(W, [groups, d, out]) as tf.Tensor3D;
    // bias' [groups, out] = bias + b [1, d] @ W [groups, d, out]
    const folded = tf.add(tf.reshape(bias, [groups, out]), tf.reshape(tf.matMul(tf.reshape(b, [1, 1, d]).tile([groups, 1, 1]), W3), [groups, out]));
    const scaled = scaleCenterColumns(W3, w, center);
    return [tf.reshape(scaled, W.shape), tf.reshape(folded, bias.shape)];
  });
}

/** consume: the step owns its input and frees what it replaces as it goes (see StateDictUpdate). */
export interface StepOptions {
  consume?: boolean;
}

export function foldLayerNorm(sd: TensorStateDict, cfg: HookedTransformerConfig, { center = true, consume = false }: { center?: boolean } & StepOptions = {}): TensorStateDict {
  const get = (k: string) => requireTensor(sd, k, "foldLayerNorm");
  const out = new StateDictUpdate(sd, consume);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `blocks.${l}.`;
    const [w1, b1] = [get(p + "ln1.w") as tf.Tensor1D, get(p + "ln1.b") as tf.Tensor1D];
    for (const x of ["Q", "K", "V"]) {
      const [W, bias] = foldInto(w1, b1, get(p + `attn.W_${x}`), get(p + `attn.b_${x}`), center);
      out.set(p + `attn.W_${x}`, W).set(p + `attn.b_${x}`, bias);
    }
    const [W, bias] = foldInto(get(p + "ln2.w") as tf.Tensor1D, get(p + "ln2.b") as tf.Tensor1D, get(p + "mlp.W_in"), get(p + "mlp.b_in"), center);
    out.set(p + "mlp.W_in", W).set(p + "mlp.b_in", bias);
    for (const k of ["ln1.w", "ln1.b", "ln2.w", "ln2.b"]) out.delete(p + k);
  }
  const [W, bias] = foldInto(get("ln_final.w") as tf.Tensor1D, get("ln_final.b") as tf.Tensor1D, get("unembed.W_U"), get("unembed.b_U"), center);
  out.set("unembed.W_U", W).set("unembed.b_U", bias);
  out.delete("ln_final.w").delete("ln_final.b");
  return out.out;
}

export function centerWritingWeights(sd: TensorStateDict, cfg: HookedTransformerConfig, { consume = false }: StepOptions = {}): TensorStateDict {
  const out = new StateDictUpdate(sd, consume);
  const keys = ["embed.W_E", "pos_embed.W_pos"];
  for (let l = 0; l < cfg.nLayers; l++) keys.push(`blocks.${l}.attn.W_O`, `blocks.${l}.attn.b_O`, `blocks.${l}.mlp.W_out`, `blocks.${l}.mlp.b_out`);
  // b_O and b_out are [d_model]: "last axis" is the whole vector, so its mean is subtracted.
  for (const k of keys) out.set(k, centerLastAxis(requireTensor(sd, k, "centerWritingWeights")));
  return out.out;
}

export function centerUnembed(sd: TensorStateDict, { consume = false }: StepOptions = {}): TensorStateDict {
  const out = new StateDictUpdate(sd, consume);
  for (const k of ["unembed.W_U", "unembed.b_U"]) out.set(k, centerLastAxis(requireTensor(sd, k, "centerUnembed")));
  return out.out;
}

export function foldValueBiases(sd: TensorStateDict, cfg: HookedTransformerConfig, { consume = false }: StepOptions = {}): TensorStateDict {
  const out = new StateDictUpdate(sd, consume);
  const { nHeads: H, dHead: E, dModel: D } = cfg;
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `blocks.${l}.attn.`;
    const bV = requireTensor(sd, p + "b_V", "foldValueBiases"); // [H, E]
    const WO = requireTensor(sd, p + "W_O", "foldValueBiases"); // [H, E, D]
    const bO = requireTensor(sd, p + "b_O", "foldValueBiases"); // [D]
    // b_O' = b_O + Σ_h b_V[h] @ W_O[h]  =  b_O + flatten(b_V) [1, H*E] @ W_O [H*E, D]
    out.set(p + "b_O", tf.tidy(() => tf.add(bO, tf.reshape(tf.matMul(tf.reshape(bV, [1, H * E]), tf.reshape(WO, [H * E, D])), [D]))));
    out.set(p + "b_V", tf.zeros([H, E]));
  }
  return out.out;
}

/**
 * Applies the requested steps in TransformerLens's order. Takes ownership of `sd`: each replaced
 * tensor is freed as soon as its replacement exists, so about one copy of the weights is alive.
 */
export function processWeights(
  sd: TensorStateDict,
  cfg: HookedTransformerConfig,
  options: ProcessWeightsOptions = {}
): { stateDict: TensorStateDict; cfg: HookedTransformerConfig } {
  const { foldLn = true, centerWritingWeights: centerW = true, centerUnembed: centerU = true, foldValueBiases: foldV = true } = options;
  const steps: ((s: TensorStateDict) => TensorStateDict)[] = [];
  const consume = { consume: true };
  if (foldLn) steps.push((s) => foldLayerNorm(s, cfg, consume));
  if (centerW) steps.push((s) => centerWritingWeights(s, cfg, consume));
  if (centerU) steps.push((s) => centerUnembed(s, consume));
  if (foldV) steps.push((s) => foldValueBiases(s, cfg, consume));
  let current = sd;
  try {
    for (const step of steps) current = step(current);
  } catch (err) {
    // A step that threw has freed some of `current` already; free the rest.
    for (const t of current.values()) if (!t.isDisposed) t.dispose();
    throw err;
  }
  return { stateDict: current, cfg: foldLn ? { ...cfg, normalizationType: "LNPre" } : cfg };
}
