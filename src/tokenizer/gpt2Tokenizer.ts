/**
 * GPT-2's byte-level BPE with the gpt2 ranks js-tiktoken ships (no download); the encoding itself
 * (pre-tokenizer regex, then bpe.ts per piece) and decoding are done here, with tiktoken's results.
 * `<|endoftext|>` (50256) is GPT-2's BOS, EOS and padding token, as in TransformerLens.
 */
import type { Tiktoken } from "js-tiktoken/lite";
import { tf } from "../backend";
import { MergeTable, bytePairEncode } from "./bpe";

// The ranks are reachable only through the package's `exports` map, which TypeScript's classic
// node resolution does not read; the shape is js-tiktoken's TiktokenBPE.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const gpt2Ranks = require("js-tiktoken/ranks/gpt2") as { default: ConstructorParameters<typeof Tiktoken>[0] };

export const BOS_TOKEN_ID = 50256;
export const BOS_TOKEN = "<|endoftext|>";
/** Size of GPT-2's vocabulary (token ids 0..50256). */
export const GPT2_VOCAB_SIZE = 50257;

type Gpt2Ranks = ConstructorParameters<typeof Tiktoken>[0];
const ranksData = (): Gpt2Ranks => gpt2Ranks.default ?? (gpt2Ranks as unknown as Gpt2Ranks);

/** Byte string (latin1, see bpe.ts) → token id, built once from the ranks js-tiktoken ships. */
let merges: MergeTable | undefined;
function ranks(): MergeTable {
  if (!merges) {
    const rankMap = new Map<string, number>();
    for (const line of ranksData().bpe_ranks.split("\n")) {
      if (!line) continue;
      // "<anything> <first rank> <base64 token> <base64 token> ...": consecutive ranks from the first.
      const [, first, ...tokens] = line.split(" ");
      const offset = Number.parseInt(first, 10);
      tokens.forEach((b64, i) => rankMap.set(Buffer.from(b64, "base64").toString("latin1"), offset + i));
    }
    merges = new MergeTable(rankMap);
  }
  return merges;
}

const utf8Decoder = new TextDecoder("utf-8");

/** Thrown by encode when `maxTokens` is exceeded; `count` is a lower bound of the full length. */
export class TooManyTokensError extends Error {
  constructor(readonly maxTokens: number, readonly count: number) {
    super(`The text is more than ${maxTokens} tokens long.`);
  }
}

export class Gpt2Tokenizer {
  readonly bosTokenId = BOS_TOKEN_ID;
  readonly vocabSize = GPT2_VOCAB_SIZE;

  /**
   * Token ids of `text`; `<|endoftext|>` written in the text becomes token 50256, as Hugging Face's
   * tokenizer does. The same ids as tiktoken's GPT-2 encoding, in O(n log n) even for long runs of
   * letters. With `maxTokens`, stops as soon as the text is known to be longer and throws
   * TooManyTokensError (so text far beyond the context fails fast).
   */
  encode(text: string, options: { maxTokens?: number } = {}): number[] {
    const max = options.maxTokens ?? Infinity;
    const table = ranks();
    const pattern = new RegExp(ranksData().pat_str, "gu");
    const utf8 = new TextEncoder();
    const ids: number[] = [];
    const segments = text.split(BOS_TOKEN);
    segments.forEach((segment, i) => {
      if (i > 0) ids.push(BOS_TOKEN_ID);
      for (const match of segment.matchAll(pattern)) {
        const piece = utf8.encode(match[0]);
        // No token is longer than 128 bytes: a piece of n bytes is at least n / 128 tokens.
        if (ids.length + Math.ceil(piece.length / 128) > max) throw new TooManyTokensError(max, ids.length + Math.ceil(piece.length / 128));
        ids.push(...bytePairEncode(piece, table));
        if (ids.length > max) throw new TooManyTokensError(max, ids.length);
      }
      if (ids.length > max) throw new TooManyTokensError(max, ids.length);
    });
    return ids;
  }

  /**
   * Text of a token id or a sequence of ids (an array, or a 0-D/1-D int tensor such as
   * `topk.indices` or `logits.argMax(-1)`), as Hugging Face's `tokenizer.decode`. Bytes that do not
   * form whole UTF-8 characters decode as U+FFFD.
   */
  decode(tokens: number | readonly number[] | tf.Tensor): string {
    if (typeof tokens === "number") tokens = [tokens];
    else if (tokens instanceof tf.Tensor) {
      if (tokens.rank > 1) throw new Error(`tokenizer.decode takes one id or a 1-D sequence; got a tensor of shape [${tokens.shape.join(", ")}]. Index a row first.`);
      tokens = Array.from(tokens.dataSync());
    }
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= GPT2_VOCAB_SIZE) {
        throw new Error(`Token id ${t} is not a GPT-2 token (valid ids are 0..${GPT2_VOCAB_SIZE - 1}).`);
      }
    }
    const table = ranks();
    let bytes = "";
    for (const t of tokens) bytes += t === BOS_TOKEN_ID ? BOS_TOKEN : table.tokenBytes(t);
    return utf8Decoder.decode(Buffer.from(bytes, "latin1"));
  }
}
