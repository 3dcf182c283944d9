/**
 * The GPT-2 family as TransformerLens names it: official name, aliases, and the Hugging Face repo
 * the weights come from. A data table, so adding a model is one line.
 */
export interface ModelPreset {
  /** TransformerLens's official name (the Hugging Face repo id it used historically). */
  officialName: string;
  hfRepo: string;
  aliases: readonly string[];
  /** Shape from the hub's config.json (n_layer, n_embd; all have n_ctx 1024, vocab 50257), to size the model before downloading it. */
  shape: { nLayers: number; dModel: number };
}

export const GPT2_PRESETS: readonly ModelPreset[] = [
  { officialName: "gpt2", hfRepo: "openai-community/gpt2", aliases: ["gpt2-small"], shape: { nLayers: 12, dModel: 768 } },
  { officialName: "gpt2-medium", hfRepo: "openai-community/gpt2-medium", aliases: [], shape: { nLayers: 24, dModel: 1024 } },
  { officialName: "gpt2-large", hfRepo: "openai-community/gpt2-large", aliases: [], shape: { nLayers: 36, dModel: 1280 } },
  { officialName: "gpt2-xl", hfRepo: "openai-community/gpt2-xl", aliases: [], shape: { nLayers: 48, dModel: 1600 } },
  { officialName: "distilgpt2", hfRepo: "distilbert/distilgpt2", aliases: ["distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"], shape: { nLayers: 6, dModel: 768 } },
];

/** Finds a preset by official name, alias or repo id (case-insensitive), or undefined. */
export function findPreset(name: string): ModelPreset | undefined {
  const key = name.trim().toLowerCase();
  return GPT2_PRESETS.find(
    (p) => p.officialName === key || p.hfRepo.toLowerCase() === key || p.aliases.includes(key)
  );
}

export function presetNames(): string[] {
  return GPT2_PRESETS.flatMap((p) => [p.officialName, ...p.aliases]);
}
