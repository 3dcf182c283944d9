/**
 * The GPT-2 family as TransformerLens names it: official name, aliases, and the Hugging Face repo
 * the weights come from. A data table, so adding a model is one line.
 */
export interface ModelPreset {
  /** TransformerLens's official name (the Hugging Face repo id it used historically). */
  officialName: string;
  hfRepo: string;
  aliases: readonly string[];
}

export const GPT2_PRESETS: readonly ModelPreset[] = [
  { officialName: "gpt2", hfRepo: "openai-community/gpt2", aliases: ["gpt2-small"] },
  { officialName: "gpt2-medium", hfRepo: "openai-community/gpt2-medium", aliases: [] },
  { officialName: "gpt2-large", hfRepo: "openai-community/gpt2-large", aliases: [] },
  { officialName: "gpt2-xl", hfRepo: "openai-community/gpt2-xl", aliases: [] },
  { officialName: "distilgpt2", hfRepo: "distilbert/distilgpt2", aliases: ["distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"] },
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
