/**
 * Everything that takes tokens accepts a string (tokenized with BOS), a string[] (a batch, right-
 * padded with <|endoftext|> as TransformerLens pads), number[][] or an int32 tf.Tensor2D [batch, pos].
 * This file turns those into a validated int32 tensor.
 */
import { tf } from "../backend";
import { Gpt2Tokenizer, TooManyTokensError } from "../tokenizer/gpt2Tokenizer";

export type TokensInput = string | string[] | number[][] | tf.Tensor2D;

/** Token ids [batch][pos] of text(s), BOS first unless prependBos is false; short rows right-padded with BOS. */
export function tokenizeBatch(tokenizer: Gpt2Tokenizer, text: string | string[], prependBos: boolean, maxTokens?: number): number[][] {
  const texts = typeof text === "string" ? [text] : text;
  const limit = maxTokens === undefined ? undefined : maxTokens - (prependBos ? 1 : 0);
  const rows = texts.map((t) => {
    const ids = tokenizer.encode(t, { maxTokens: limit });
    return prependBos ? [tokenizer.bosTokenId, ...ids] : ids;
  });
  const width = Math.max(...rows.map((r) => r.length));
  return rows.map((r) => [...r, ...new Array(width - r.length).fill(tokenizer.bosTokenId)]);
}

export interface PreparedTokens {
  /** [batch, pos] int32 */
  tokens: tf.Tensor2D;
  /** True when the tensor was made here and must be disposed here; false when the caller passed it. */
  owned: boolean;
}

/** Validates token ids against the vocabulary and context length; errors say which position is wrong. */
export function prepareTokens(
  input: TokensInput,
  opts: { tokenizer: Gpt2Tokenizer; dVocab: number; nCtx: number; prependBos?: boolean }
): PreparedTokens {
  let rows: number[][] | undefined;
  let shape: number[];
  if (typeof input === "string" || (Array.isArray(input) && input.length > 0 && typeof input[0] === "string")) {
    try {
      // Tokenizing stops as soon as a text is known not to fit, so a huge text fails at once.
      rows = tokenizeBatch(opts.tokenizer, input as string | string[], opts.prependBos ?? true, opts.nCtx);
    } catch (err) {
      if (!(err instanceof TooManyTokensError)) throw err;
      throw new Error(`The text is more than ${opts.nCtx} tokens long but the model's context is ${opts.nCtx} (n_ctx); shorten it to at most ${opts.nCtx} tokens.`);
    }
    shape = [rows.length, rows[0].length];
  } else if (Array.isArray(input)) {
    rows = input as number[][];
    if (rows.length === 0 || !rows.every(Array.isArray)) {
      throw new Error("Tokens must be a string, string[], number[][] ([batch][pos]) or an int32 tf.Tensor2D; got an empty or 1-D array (wrap one sequence as [[...ids]]).");
    }
    const width = rows[0].length;
    const ragged = rows.findIndex((r) => r.length !== width);
    if (ragged >= 0) throw new Error(`Token rows must all have the same length: row 0 has ${width}, row ${ragged} has ${rows[ragged].length}.`);
    shape = [rows.length, width];
  } else if (input instanceof tf.Tensor) {
    if (input.rank !== 2) throw new Error(`A tokens tensor must be 2-D [batch, pos]; got shape [${input.shape.join(", ")}]. Use tf.expandDims(t, 0) for one sequence.`);
    if (input.dtype !== "int32") throw new Error(`A tokens tensor must have dtype int32; got ${input.dtype}. Use tokens.toInt().`);
    shape = input.shape;
  } else {
    throw new Error(`Tokens must be a string, string[], number[][] or an int32 tf.Tensor2D; got ${typeof input}.`);
  }
  const [, pos] = shape;
  if (pos === 0) throw new Error("The token sequence is empty: give at least one token.");
  if (pos > opts.nCtx) {
    throw new Error(`The sequence has ${pos} tokens but the model's context is ${opts.nCtx} (n_ctx); shorten it to at most ${opts.nCtx}.`);
  }
  const flat = rows ? rows.flat() : Array.from((input as tf.Tensor2D).dataSync());
  for (let i = 0; i < flat.length; i++) {
    const id = flat[i];
    if (!Number.isInteger(id) || id < 0 || id >= opts.dVocab) {
      const b = Math.floor(i / pos);
      throw new Error(`Token id ${id} at [batch ${b}, position ${i % pos}] is out of range: valid ids are 0..${opts.dVocab - 1}.`);
    }
  }
  if (rows) return { tokens: tf.tensor2d(flat, shape as [number, number], "int32"), owned: true };
  return { tokens: input as tf.Tensor2D, owned: false };
}

/** Each token of `input` as text (HookedTransformer.toStrTokens); batched input must have batch 1. */
export function strTokens(tokenizer: Gpt2Tokenizer, input: string | number[] | number[][] | tf.Tensor, prependBos: boolean): string[] {
    let ids: number[];
    if (typeof input === "string") ids = tokenizeBatch(tokenizer, input, prependBos)[0];
    else if (Array.isArray(input) && Array.isArray(input[0])) {
      if (input.length !== 1) throw new Error(`toStrTokens takes one sequence; got a batch of ${input.length}. Pick a row first.`);
      ids = input[0] as number[];
    } else if (Array.isArray(input)) ids = input as number[];
    else {
      if (input.rank === 2 && input.shape[0] !== 1) throw new Error(`toStrTokens takes one sequence; got a batch of ${input.shape[0]}. Index a row first.`);
      if (input.rank > 2) throw new Error(`toStrTokens takes a 1-D or [1, pos] tensor; got shape [${input.shape.join(", ")}].`);
      ids = Array.from(input.dataSync());
    }
    return ids.map((t) => tokenizer.decode([t]));
}

/** Token ids to text (HookedTransformer.toString): a string per sequence, one per row of a [batch, pos] input. */
export function tokensToText(tokenizer: Gpt2Tokenizer, tokens: number | number[] | number[][] | tf.Tensor): string | string[] {
  if (typeof tokens === "number") return tokenizer.decode([tokens]);
  if (tokens instanceof tf.Tensor) {
    if (tokens.rank > 2) throw new Error(`toString takes at most a 2-D tensor; got shape [${tokens.shape.join(", ")}].`);
    return tokensToText(tokenizer, tokens.arraySync() as number | number[] | number[][]);
  }
  if (tokens.length > 0 && Array.isArray(tokens[0])) return (tokens as number[][]).map((row) => tokenizer.decode(row));
  return tokenizer.decode(tokens as number[]);
}

/** The id of a text that is exactly one token, else an error listing its tokens. */
export function singleToken(tokenizer: Gpt2Tokenizer, text: string): number {
  const ids = tokenizer.encode(text);
  if (ids.length !== 1) {
    throw new Error(`"${text}" is ${ids.length} tokens (${ids.map((t) => JSON.stringify(tokenizer.decode([t]))).join(", ")}), not one.`);
  }
  return ids[0];
}
