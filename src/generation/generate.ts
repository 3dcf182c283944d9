/**
 * Text generation, as TransformerLens's HookedTransformer.generate: run the prompt, choose a token
 * from the last position's logits (sampling.ts), append it, repeat. With the key/value cache
 * (kvCache.ts) the first step runs the whole prompt and each later step one position; without it
 * every step runs the whole sequence. Hooks on the model's hook points (model.hooks, addHook) fire
 * at every step, so on step 1 they see [batch, prompt_pos, ...] and after that [batch, 1, ...]
 * (the whole sequence every step without the cache).
 *
 * Batched prompts of different lengths are left-padded with <|endoftext|> and masked (as
 * TransformerLens does for lists of strings), so each row generates what it would alone. With
 * stopAtEos, a row that has produced EOS is padded with EOS until every row has, then the loop stops.
 *
 * Ownership: a tokens tensor passed in stays the caller's; a returned tokens tensor is the caller's.
 * Nothing else outlives the call, also when a hook throws.
 */
import { tf } from "../backend";
import type { HookedTransformer } from "../model/HookedTransformer";
import { TokensInput, prepareTokens, tokenizeBatch } from "../model/tokens";
import { KeyValueCache } from "./kvCache";
import { stderrProgress } from "./progress";
import { SampleOptions, argmax, sampleLogits, seededRandom, validateSampleOptions } from "./sampling";

export interface GenerateOptions extends SampleOptions {
  /** Tokens to add (TL max_new_tokens). Default 10. */
  maxNewTokens?: number;
  /** Stop a row at EOS and pad it with EOS until every row has stopped. Default true. */
  stopAtEos?: boolean;
  /** The stop token, or several (any of them stops a row). Default: <|endoftext|> (50256). */
  eosTokenId?: number | number[];
  /** Sample (true) or take the argmax (false). Default true. */
  doSample?: boolean;
  /** Keep past keys and values so each step runs one position. Default true. */
  usePastKvCache?: boolean;
  /** Prepend BOS to string prompts. Default true. */
  prependBos?: boolean;
  /** "input": a string for a string, string[] for string[], a tokens tensor for tokens; or "str" / "tokens". */
  returnType?: "input" | "str" | "tokens";
  /** A progress bar on stderr when the run takes over a second. Default true. */
  verbose?: boolean;
  /** Seed of the sampler, so a run repeats exactly (there is no torch.manual_seed). Default: random. */
  seed?: number;
}

/** Generation input: text, a batch of texts, or tokens [batch, pos] (number[][] or int32 tf.Tensor2D). */
export type GenerateInput = string | string[] | TokensInput;

/** For tests and tools: sees each step's last-position logits [batch * d_vocab] (row-major; valid during the call). */
export interface GenerateObserver {
  onStepLogits?: (step: number, logits: Float32Array) => void;
}

interface Prompt {
  rows: number[][]; // [batch][pos], left-padded
  mask: number[][]; // [batch][pos], 0 = padding
  padded: boolean;
}

/** See the file comment. Returns text(s) or tokens [batch, prompt_pos + new] int32 (caller owns). */
export function generate(model: HookedTransformer, input: GenerateInput, options: GenerateOptions = {}, observer: GenerateObserver = {}): string | string[] | tf.Tensor2D {
  const {
    maxNewTokens = 10, stopAtEos = true, doSample = true, usePastKvCache = true, prependBos = true,
    returnType = "input", verbose = true, seed,
  } = options;
  const bos = model.tokenizer.bosTokenId;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new Error(`maxNewTokens must be an integer ≥ 0; got ${maxNewTokens}.`);
  if (!["input", "str", "tokens"].includes(returnType)) throw new Error(`returnType must be "input", "str" or "tokens"; got "${returnType}".`);
  validateSampleOptions(options);
  const stopTokens = new Set(options.eosTokenId === undefined ? [bos] : typeof options.eosTokenId === "number" ? [options.eosTokenId] : options.eosTokenId);
  if (stopTokens.size === 0 || [...stopTokens].some((t) => !Number.isInteger(t) || t < 0)) {
    throw new Error(`eosTokenId must be a token id or a non-empty list of them; got ${JSON.stringify(options.eosTokenId)}.`);
  }
  // TransformerLens pads finished rows with the tokenizer's EOS when given a list, else with the id given.
  const padToken = typeof options.eosTokenId === "number" ? options.eosTokenId : bos;

  const prompt = readPrompt(model, input, prependBos, maxNewTokens);
  const random = seededRandom(seed);
  const rows = prompt.rows.map((r) => [...r]);
  const batch = rows.length;
  const finished = new Array<boolean>(batch).fill(false);
  const { nLayers, dVocab } = model.cfg;
  const cache = usePastKvCache ? new KeyValueCache(nLayers, prompt.mask) : undefined;
  const progress = stderrProgress(maxNewTokens, { enabled: verbose });
  try {
    for (let step = 0; step < maxNewTokens; step++) {
      let logits: Float32Array;
      try {
        if (cache) {
          const start = cache.length;
          logits = runStep(model, rows.map((r) => r.slice(start)), cache, start);
        } else {
          // Without the cache every step runs everything; padding still needs the mask.
          const once = prompt.padded ? new KeyValueCache(nLayers, maskNow(prompt.mask, rows[0].length)) : undefined;
          try {
            logits = runStep(model, rows, once, 0);
          } finally {
            once?.dispose();
          }
        }
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        e.message = `generate, step ${step + 1} of ${maxNewTokens}: ${e.message}`;
        throw e;
      }
      observer.onStepLogits?.(step, logits);
      for (let b = 0; b < batch; b++) {
        const row = logits.subarray(b * dVocab, (b + 1) * dVocab);
        let next = doSample ? sampleLogits(row, options, rows[b], random) : argmax(row);
        if (stopAtEos) {
          if (finished[b]) next = padToken;
          else if (stopTokens.has(next)) finished[b] = true;
        }
        rows[b].push(next);
      }
      cache?.extend(1);
      progress.update(step + 1);
      if (stopAtEos && finished.every(Boolean)) break;
    }
  } finally {
    cache?.dispose();
    progress.close();
  }

  const wantStr = returnType === "str" || (returnType === "input" && isText(input));
  if (!wantStr) return tf.tensor2d(rows, [batch, rows[0].length], "int32");
  // Hugging Face decode with skip_special_tokens: <|endoftext|> (BOS, EOS, padding) is left out.
  const texts = rows.map((r) => model.tokenizer.decode(r.filter((t) => t !== bos)));
  return typeof input === "string" ? texts[0] : texts;
}

function isText(input: GenerateInput): boolean {
  return typeof input === "string" || (Array.isArray(input) && input.length > 0 && typeof input[0] === "string");
}

/** The prompt rows on the host, left-padded, with their mask; errors for what cannot be generated from. */
function readPrompt(model: HookedTransformer, input: GenerateInput, prependBos: boolean, maxNewTokens: number): Prompt {
  const { nCtx, dVocab } = model.cfg;
  const bos = model.tokenizer.bosTokenId;
  let rows: number[][];
  if (typeof input === "string") {
    rows = tokenizeBatch(model.tokenizer, input, prependBos);
  } else if (Array.isArray(input) && input.length > 0 && input.every((s) => typeof s === "string")) {
    rows = (input as string[]).map((s) => tokenizeBatch(model.tokenizer, s, prependBos)[0]);
  } else if (Array.isArray(input) && input.length === 0) {
    throw new Error("generate got an empty list of prompts; give at least one string.");
  } else if (input instanceof tf.Tensor && input.rank === 3) {
    throw new Error(`generate takes text or tokens [batch, pos]; got a tensor of shape [${input.shape.join(", ")}] (embeddings input is not supported).`);
  } else {
    const width = input instanceof tf.Tensor ? input.shape[1] : Array.isArray(input[0]) ? (input[0] as number[]).length : 0;
    checkLength(width, maxNewTokens, nCtx);
    const prepared = prepareTokens(input as TokensInput, { tokenizer: model.tokenizer, dVocab, nCtx });
    rows = prepared.tokens.arraySync();
    if (prepared.owned) prepared.tokens.dispose();
  }
  const width = Math.max(...rows.map((r) => r.length));
  if (width === 0) throw new Error("The prompt is empty (no tokens): give some text, or leave prependBos on.");
  checkLength(width, maxNewTokens, nCtx);
  const mask = rows.map((r) => [...new Array(width - r.length).fill(0), ...r.map(() => 1)]);
  rows = rows.map((r) => [...new Array(width - r.length).fill(bos), ...r]);
  for (let b = 0; b < rows.length; b++) {
    const bad = rows[b].findIndex((t) => t >= dVocab);
    if (bad >= 0) throw new Error(`Token id ${rows[b][bad]} at [batch ${b}, position ${bad}] is out of range for this model: valid ids are 0..${dVocab - 1}.`);
  }
  return { rows, mask, padded: mask.some((r) => r.includes(0)) };
}

function checkLength(promptPos: number, maxNewTokens: number, nCtx: number): void {
  if (promptPos + maxNewTokens > nCtx) {
    throw new Error(
      `The prompt has ${promptPos} tokens and maxNewTokens is ${maxNewTokens}: ${promptPos + maxNewTokens} positions, ` +
        `more than the model's context of ${nCtx} (n_ctx). Shorten the prompt to at most ${Math.max(nCtx - maxNewTokens, 0)} tokens or ask for fewer new tokens.`
    );
  }
}

/** The prompt mask extended with ones (real tokens) to `width` positions. */
function maskNow(mask: number[][], width: number): number[][] {
  return mask.map((r) => [...r, ...new Array(width - r.length).fill(1)]);
}

/**
 * One forward pass over `ids` (the positions from `start` on when a cache holds the earlier ones).
 * Hooks fire as in a forward pass. Each block runs in its own tidy (its intermediates go when it ends).
 * @param ids [batch][new_pos] @returns the last position's logits, [batch * d_vocab] row-major
 */
function runStep(model: HookedTransformer, ids: number[][], cache: KeyValueCache | undefined, start: number): Float32Array {
  const batch = ids.length;
  const count = ids[0].length;
  const logits = tf.tidy(() => {
    const tokens = tf.tensor2d(ids, [batch, count], "int32");
    let resid = tf.tidy(() => {
      const embed = model.hook_embed.run(model.embed.forward(tokens));
      let pos: tf.Tensor3D;
      if (cache) {
        const p = cache.positions(start, count);
        pos = model.pos_embed.atPositions(tf.tensor2d(p.ids, [batch, count], "int32"), tf.tensor2d(p.keep, [batch, count]));
      } else pos = model.pos_embed.forward(tokens);
      return tf.add(embed, model.hook_pos_embed.run(pos)) as tf.Tensor3D;
    });
    model.blocks.forEach((block, l) => {
      const input = resid;
      resid = tf.tidy(() => block.forward(input, cache?.entries[l]));
    });
    // ln_final runs on every position (its hooks see them all); the unembedding, which has no hook, on the last only.
    const normalized = model.ln_final.forward(resid); // [batch, new_pos, d_model]
    return model.unembed.forward(tf.slice(normalized, [0, count - 1, 0], [batch, 1, -1])); // [batch, 1, d_vocab]
  });
  try {
    return Float32Array.from(logits.dataSync() as Float32Array);
  } finally {
    logits.dispose();
  }
}
