/**
 * Hugging Face GPT-2 state dict → TransformerLens state dict (a pure function).
 *
 * OpenAI's checkpoints use Conv1D layers, whose weights are stored [in, out] (the transpose of
 * nn.Linear), so c_attn.weight is [d_model, 3*d_model] = [W_Q | W_K | W_V] along its columns.
 * Heads are the slow index inside each d_model-wide block: column j of W_Q is head floor(j/d_head).
 */
import { HookedTransformerConfig } from "../model/config";
import { tf } from "../backend";
import { shapeString } from "./hostTensor";
import { TensorStateDict, requireTensor } from "./stateDict";

/** Buffers that real hub files carry and that are not parameters (the causal mask and its fill value). */
const IGNORED_KEY = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/** The Hugging Face keys a GPT-2 checkpoint must have, with their shapes. */
export function expectedHfShapes(cfg: HookedTransformerConfig): Map<string, number[]> {
  const { dModel: d, dMlp: m, dVocab: v, nCtx } = cfg;
  const shapes = new Map<string, number[]>([
    ["wte.weight", [v, d]],
    ["wpe.weight", [nCtx, d]],
    ["ln_f.weight", [d]],
    ["ln_f.bias", [d]],
  ]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `h.${l}.`;
    shapes.set(p + "ln_1.weight", [d]).set(p + "ln_1.bias", [d]);
    shapes.set(p + "attn.c_attn.weight", [d, 3 * d]).set(p + "attn.c_attn.bias", [3 * d]);
    shapes.set(p + "attn.c_proj.weight", [d, d]).set(p + "attn.c_proj.bias", [d]);
    shapes.set(p + "ln_2.weight", [d]).set(p + "ln_2.bias", [d]);
    shapes.set(p + "mlp.c_fc.weight", [d, m]).set(p + "mlp.c_fc.bias", [m]);
    shapes.set(p + "mlp.c_proj.weight", [m, d]).set(p + "mlp.c_proj.bias", [d]);
  }
  return shapes;
}

/** Strips the `transformer.` prefix that GPT2LMHeadModel checkpoints put on every key but lm_head. */
export function normaliseHfKey(key: string): string {
  return key.startsWith("transformer.") ? key.slice("transformer.".length) : key;
}

/**
 * Checks every tensor a GPT-2 checkpoint needs is present with the shape config.json implies.
 * @param shapes normalised HF key → shape, as found in the file.
 * @returns keys that are neither expected nor known buffers (the caller may warn about them).
 */
export function checkHfShapes(shapes: Map<string, number[]>, cfg: HookedTransformerConfig, source: string): string[] {
  const expected = expectedHfShapes(cfg);
  const problems: string[] = [];
  for (const [key, shape] of expected) {
    const found = shapes.get(key);
    if (!found) problems.push(`missing tensor "${key}" (expected ${shapeString(shape)})`);
    else if (found.length !== shape.length || found.some((x, i) => x !== shape[i])) {
      problems.push(`tensor "${key}" has shape ${shapeString(found)} but config.json implies ${shapeString(shape)}`);
    }
  }
  const lm = shapes.get("lm_head.weight");
  if (lm && (lm.length !== 2 || lm[0] !== cfg.dVocab || lm[1] !== cfg.dModel)) {
    problems.push(`tensor "lm_head.weight" has shape ${shapeString(lm)} but config.json implies ${shapeString([cfg.dVocab, cfg.dModel])}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 8).join("; ") + (problems.length > 8 ? `; and ${problems.length - 8} more` : "");
    throw new Error(
      `${source} does not match its config.json: ${shown}. Check that config.json and model.safetensors come from the same model.`
    );
  }
  return [...shapes.keys()].filter((k) => !expected.has(k) && k !== "lm_head.weight" && !IGNORED_KEY.test(k));
}

export function isIgnoredHfKey(key: string): boolean {
  return IGNORED_KEY.test(key);
}

/**
 * @param hf normalised HF key → tensor (shapes already checked with checkHfShapes); never modified.
 * @param consume the conversion owns `hf`: each tensor that is only an input (c_attn, lm_head) is
 *   freed as soon as it has been converted, so the next result reuses its memory.
 * @returns TransformerLens names: embed.W_E [d_vocab, d_model], pos_embed.W_pos [n_ctx, d_model],
 *   blocks.L.ln1.w/b, blocks.L.attn.W_Q/W_K/W_V [n_heads, d_model, d_head], W_O [n_heads, d_head, d_model],
 *   b_Q/b_K/b_V [n_heads, d_head], b_O [d_model], blocks.L.ln2.w/b, blocks.L.mlp.W_in [d_model, d_mlp],
 *   b_in, W_out [d_mlp, d_model], b_out, ln_final.w/b, unembed.W_U [d_model, d_vocab], unembed.b_U [d_vocab].
 *   Tensors that need no rearrangement are shared with the input.
 */
export function convertGpt2Weights(hf: TensorStateDict, cfg: HookedTransformerConfig, { consume = false } = {}): TensorStateDict {
  const { nHeads: H, dModel: D, dHead: E } = cfg;
  const get = (k: string) => requireTensor(hf, k, "convertGpt2Weights");
  const out: TensorStateDict = new Map();
  out.set("embed.W_E", get("wte.weight"));
  out.set("pos_embed.W_pos", get("wpe.weight"));
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `h.${l}.`;
    const b = `blocks.${l}.`;
    out.set(b + "ln1.w", get(p + "ln_1.weight"));
    out.set(b + "ln1.b", get(p + "ln_1.bias"));
    const cAttn = get(p + "attn.c_attn.weight"); // [d_model, 3*d_model]: W_Q | W_K | W_V
    const cAttnBias = get(p + "attn.c_attn.bias"); // [3*d_model]
    (["Q", "K", "V"] as const).forEach((which, i) => {
      // columns of one block are grouped by head: [d_model, n_heads*d_head] → [n_heads, d_model, d_head]
      out.set(b + `attn.W_${which}`, tf.tidy(() => tf.transpose(tf.reshape(tf.slice(cAttn, [0, i * D], [D, D]), [D, H, E]), [1, 0, 2])));
      out.set(b + `attn.b_${which}`, tf.tidy(() => tf.reshape(tf.slice(cAttnBias, [i * D], [D]), [H, E])));
    });
    if (consume) tf.dispose([cAttn, cAttnBias]);
    // c_proj.weight is [n_heads*d_head, d_model], rows grouped by head: a reshape, no copy.
    const cProj = get(p + "attn.c_proj.weight");
    out.set(b + "attn.W_O", tf.reshape(cProj, [H, E, D]));
    if (consume) cProj.dispose(); // the reshape shares its data; only the old handle goes
    out.set(b + "attn.b_O", get(p + "attn.c_proj.bias"));
    out.set(b + "ln2.w", get(p + "ln_2.weight"));
    out.set(b + "ln2.b", get(p + "ln_2.bias"));
    out.set(b + "mlp.W_in", get(p + "mlp.c_fc.weight"));
    out.set(b + "mlp.b_in", get(p + "mlp.c_fc.bias"));
    out.set(b + "mlp.W_out", get(p + "mlp.c_proj.weight"));
    out.set(b + "mlp.b_out", get(p + "mlp.c_proj.bias"));
  }
  out.set("ln_final.w", get("ln_f.weight"));
  out.set("ln_final.b", get("ln_f.bias"));
  // lm_head.weight is [d_vocab, d_model]; absent means tied to the embedding.
  const lmHead = hf.get("lm_head.weight");
  out.set("unembed.W_U", tf.transpose(lmHead ?? get("wte.weight")));
  if (consume && lmHead) lmHead.dispose();
  out.set("unembed.b_U", tf.zeros([cfg.dVocab]));
  return out;
}
