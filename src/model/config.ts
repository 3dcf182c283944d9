/**
 * The model's configuration, with TransformerLens's meanings (HookedTransformerConfig) in camelCase.
 * Built once from a Hugging Face config.json and never mutated: weight processing returns a new
 * config instead of editing this one.
 */

export type ActFn = "gelu_new" | "gelu" | "relu";
export type NormalizationType = "LN" | "LNPre";

export interface HookedTransformerConfig {
  readonly modelName: string;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly dModel: number;
  readonly dHead: number;
  readonly dMlp: number;
  readonly dVocab: number;
  readonly nCtx: number;
  readonly actFn: ActFn;
  readonly eps: number;
  /** "LN" with weights; "LNPre" once LayerNorm weights were folded into the following layer. */
  readonly normalizationType: NormalizationType;
  readonly originalArchitecture: "GPT2LMHeadModel";
  readonly tokenizerName: string;
  readonly defaultPrependBos: boolean;
}

/** The fields of a Hugging Face GPT2Config this model reads (see transformers' configuration_gpt2). */
interface HfGpt2Config {
  model_type?: string;
  n_layer?: number;
  n_head?: number;
  n_embd?: number;
  n_inner?: number | null;
  n_positions?: number;
  n_ctx?: number;
  vocab_size?: number;
  activation_function?: string;
  layer_norm_epsilon?: number;
  scale_attn_weights?: boolean;
  scale_attn_by_inverse_layer_idx?: boolean;
  reorder_and_upcast_attn?: boolean;
  add_cross_attention?: boolean;
  architectures?: string[];
  _name_or_path?: string;
}

const HF_ACTIVATIONS: Record<string, ActFn> = { gelu_new: "gelu_new", gelu: "gelu", relu: "relu", gelu_pytorch_tanh: "gelu_new" };

/** Converts a Hugging Face GPT-2 config.json into a HookedTransformerConfig. */
export function configFromHf(json: unknown, modelName: string, source: string): HookedTransformerConfig {
  const hf = json as HfGpt2Config;
  const bad = (what: string): never => {
    throw new Error(`${source}: ${what}. A GPT-2 config.json (model_type "gpt2") is expected.`);
  };
  if (hf === null || typeof hf !== "object") bad("config is not a JSON object");
  if (hf.model_type !== undefined && hf.model_type !== "gpt2") bad(`model_type is "${hf.model_type}", only "gpt2" is supported`);
  const int = (key: keyof HfGpt2Config): number => {
    const v = hf[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) bad(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const nLayers = int("n_layer");
  const nHeads = int("n_head");
  const dModel = int("n_embd");
  if (dModel % nHeads !== 0) bad(`n_embd (${dModel}) is not divisible by n_head (${nHeads})`);
  // Fields that would change the maths: refused by name unless they keep GPT-2's defaults.
  // (reorder_and_upcast_attn only changes float16 rounding; everything here runs in float32.)
  const mathsFields: [keyof HfGpt2Config, unknown, string][] = [
    ["scale_attn_weights", true, "attention scores are always divided by sqrt(d_head) here"],
    ["scale_attn_by_inverse_layer_idx", false, "scores scaled by 1 / (layer + 1) (Mistral-style GPT-2 variants) are not implemented"],
    ["add_cross_attention", false, "encoder-decoder cross-attention is not implemented"],
  ];
  for (const [key, expected, why] of mathsFields) {
    const v = hf[key];
    if (v !== undefined && v !== expected) bad(`"${key}" is ${JSON.stringify(v)}, which is not supported: ${why}`);
  }
  if (hf.reorder_and_upcast_attn !== undefined && typeof hf.reorder_and_upcast_attn !== "boolean") {
    bad(`"reorder_and_upcast_attn" must be true or false, got ${JSON.stringify(hf.reorder_and_upcast_attn)}`);
  }
  const eps = hf.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps <= 0 || eps >= 1) {
    bad(`"layer_norm_epsilon" must be a small positive number (GPT-2 uses 1e-5), got ${JSON.stringify(hf.layer_norm_epsilon)}`);
  }
  if (hf.n_inner !== undefined && hf.n_inner !== null) int("n_inner");
  const act = hf.activation_function ?? "gelu_new";
  const actFn = HF_ACTIVATIONS[act] ?? bad(`activation_function "${act}" is not supported (use one of ${Object.keys(HF_ACTIVATIONS).join(", ")})`);
  return {
    modelName,
    nLayers,
    nHeads,
    dModel,
    dHead: dModel / nHeads,
    dMlp: hf.n_inner ?? 4 * dModel,
    dVocab: int("vocab_size"),
    nCtx: int("n_positions"),
    actFn,
    eps,
    normalizationType: "LN",
    originalArchitecture: "GPT2LMHeadModel",
    tokenizerName: "gpt2",
    defaultPrependBos: true,
  };
}
