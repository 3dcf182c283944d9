/**
 * An SAE's cfg.json → SAEConfig, reading both generations of SAELens's field names:
 *
 *  - before 6.0 (e.g. jbloom/GPT2-Small-SAEs-Reformatted): flat, with `hook_point`, `hook_point_layer`,
 *    `hook_point_head_index`, `activation_fn_str`, `d_in`, `d_sae`, `apply_b_dec_to_input`, ...;
 *  - 6.x: `architecture`, `d_in`, `d_sae`, `apply_b_dec_to_input`, `normalize_activations`,
 *    `reshape_activations` at the top and the model-side fields (`hook_name`, `model_name`,
 *    `sae_lens_version`, ...) under `metadata`.
 *
 * As SAELens does, a config without `sae_lens_version` (or older than 6.0) is renamed to the 6.x names
 * and given SAELens's defaults: `apply_b_dec_to_input` true, `normalize_activations` "none",
 * `architecture` "standard", `activation_fn` "relu". What this library does not implement (another
 * architecture, activation, normalisation or reshape) is an error naming the field and its value.
 */

export interface SAEConfig {
  /** Only the standard (ReLU) SAE is implemented. */
  readonly architecture: "standard";
  /** Width of the activations the SAE reads (SAELens `d_in`). */
  readonly dIn: number;
  /** Number of features (SAELens `d_sae`). */
  readonly dSae: number;
  /** TransformerLens hook the SAE was trained on (SAELens `hook_name`, formerly `hook_point`). */
  readonly hookName: string;
  /** Block of the hook (`hook_point_layer`, else the N of "blocks.N."); null for hooks outside the blocks. */
  readonly hookLayer: number | null;
  /** Subtract b_dec from the input before encoding (SAELens `apply_b_dec_to_input`). */
  readonly applyBDecToInput: boolean;
  readonly activationFn: "relu";
  readonly normalizeActivations: "none";
  /** The model the SAE was trained on, as the config names it (e.g. "gpt2-small"). */
  readonly modelName: string | null;
  /** Storage dtype the config names (e.g. "torch.float32"); the weights are used in float32 here. */
  readonly dtype: string;
  /** Neuronpedia id, when the config has one. */
  readonly neuronpediaId: string | null;
  /** SAELens version that wrote the config; null for configs older than the field. */
  readonly saeLensVersion: string | null;
}

export const SUPPORTED_ARCHITECTURES = ["standard"] as const;

/** SAELens's pre-6.0 names → 6.x names. */
const RENAMED_FIELDS: Record<string, string> = {
  hook_point: "hook_name",
  hook_point_head_index: "hook_head_index",
  activation_fn_str: "activation_fn",
};

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Major version of a version string ("6.5.1" → 6, "3.0.0" → 3); undefined when it has none. */
function majorVersion(version: unknown): number | undefined {
  const m = typeof version === "string" ? /^v?(\d+)/.exec(version.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * The config dict SAELens works with: pre-6.0 configs renamed to the 6.x names with SAELens's defaults
 * filled in; 6.x configs as they are. A new object; `raw` is not changed.
 */
export function normaliseSaeCfgDict(raw: Dict): Dict {
  const version = raw.sae_lens_version ?? (isDict(raw.metadata) ? raw.metadata.sae_lens_version : undefined);
  const major = majorVersion(version);
  if (major !== undefined && major >= 6) return { ...raw };
  const cfg: Dict = {};
  for (const [k, v] of Object.entries(raw)) cfg[RENAMED_FIELDS[k] ?? k] = v;
  const setDefault = (k: string, v: unknown) => {
    if (!(k in cfg)) cfg[k] = v;
  };
  setDefault("prepend_bos", true);
  setDefault("apply_b_dec_to_input", true);
  setDefault("finetuning_scaling_factor", false);
  setDefault("activation_fn", "relu");
  setDefault("architecture", "standard");
  setDefault("neuronpedia_id", null);
  const hookName = typeof cfg.hook_name === "string" ? cfg.hook_name : "";
  setDefault("reshape_activations", hookName.includes("hook_z") ? "hook_z" : "none");
  if (typeof cfg.normalize_activations === "boolean") {
    cfg.normalize_activations = cfg.normalize_activations ? "expected_average_only_in" : "none";
  }
  if (cfg.normalize_activations === undefined || cfg.normalize_activations === null) cfg.normalize_activations = "none";
  return cfg;
}

/**
 * Reads a cfg.json's contents (either generation). `source` names the file in errors.
 * @returns the config, and the normalised dict (`cfgDict`, as SAELens returns it).
 */
export function saeConfigFromDict(raw: unknown, source: string): { cfg: SAEConfig; cfgDict: Dict } {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (!isDict(raw)) fail(`the SAE config is not a JSON object (got ${JSON.stringify(raw)?.slice(0, 80)})`);
  const cfgDict = normaliseSaeCfgDict(raw as Dict);
  const metadata = isDict(cfgDict.metadata) ? cfgDict.metadata : {};
  /** A field at the top level, else under `metadata` (6.x keeps the model-side fields there). */
  const field = (k: string): unknown => (cfgDict[k] !== undefined ? cfgDict[k] : metadata[k]);
  const positiveInt = (k: string): number => {
    const v = field(k);
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) fail(`"${k}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const unsupported = (k: string, value: unknown, supported: string): never =>
    fail(`unsupported ${k} ${JSON.stringify(value)} (field "${k}"): mechinterp-ts implements ${supported}. ` +
      `Use an SAE saved with those settings, or load this one with SAELens in Python.`);

  const dIn = positiveInt("d_in");
  const dSae = positiveInt("d_sae");
  const hookName = field("hook_name");
  if (typeof hookName !== "string" || hookName.length === 0) {
    fail(`no hook name: expected "hook_name" (SAELens 6) or "hook_point" (earlier) naming a TransformerLens hook, got ${JSON.stringify(hookName)}`);
  }
  const architecture = field("architecture") ?? "standard";
  if (architecture !== "standard") unsupported("architecture", architecture, `only "standard" SAEs (ReLU((x - b_dec) @ W_enc + b_enc))`);
  const activationFn = field("activation_fn") ?? "relu";
  if (activationFn !== "relu") unsupported("activation_fn", activationFn, `only the "relu" activation`);
  const normalize = field("normalize_activations") ?? "none";
  if (normalize !== "none") unsupported("normalize_activations", normalize, `only "none" (activations used as they come)`);
  const reshape = field("reshape_activations") ?? "none";
  if (reshape !== "none") unsupported("reshape_activations", reshape, `only "none" (SAEs on hook_z are not supported)`);
  const headIndex = field("hook_head_index");
  if (headIndex !== undefined && headIndex !== null) unsupported("hook_head_index", headIndex, "SAEs on whole hooks only (null)");
  if (field("finetuning_scaling_factor") === true) unsupported("finetuning_scaling_factor", true, "SAEs without a finetuning scaling factor (false)");
  const applyBDec = field("apply_b_dec_to_input") ?? true;
  if (typeof applyBDec !== "boolean") fail(`"apply_b_dec_to_input" must be true or false, got ${JSON.stringify(applyBDec)}`);

  const layerField = field("hook_point_layer") ?? field("hook_layer");
  const layerFromName = /^blocks\.(\d+)\./.exec(hookName as string)?.[1];
  const hookLayer = typeof layerField === "number" && Number.isInteger(layerField) ? layerField : layerFromName !== undefined ? Number(layerFromName) : null;
  const str = (k: string): string | null => (typeof field(k) === "string" ? (field(k) as string) : null);

  const cfg: SAEConfig = {
    architecture: "standard",
    dIn,
    dSae,
    hookName: hookName as string,
    hookLayer,
    applyBDecToInput: applyBDec as boolean,
    activationFn: "relu",
    normalizeActivations: "none",
    modelName: str("model_name"),
    dtype: str("dtype") ?? "float32",
    neuronpediaId: str("neuronpedia_id"),
    saeLensVersion: str("sae_lens_version"),
  };
  return { cfg: Object.freeze(cfg), cfgDict };
}
