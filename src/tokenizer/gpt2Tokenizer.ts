/**
 * GPT-2's byte-level BPE, through js-tiktoken with the gpt2 ranks it ships (no download).
 * `<|endoftext|>` (50256) is GPT-2's BOS, EOS and padding token, as in TransformerLens.
 */
import { Tiktoken } from "js-tiktoken/lite";
import { tf } from "../backend";

// The ranks are reachable only through the package's `exports` map, which TypeScript's classic
// node resolution does not read; the shape is js-tiktoken's TiktokenBPE.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const gpt2Ranks = require("js-tiktoken/ranks/gpt2") as { default: ConstructorParameters<typeof Tiktoken>[0] };

export const BOS_TOKEN_ID = 50256;
export const BOS_TOKEN = "<|endoftext|>";
/** Size of GPT-2's vocabulary (token ids 0..50256). */
export const GPT2_VOCAB_SIZE = 50257;

let shared: Tiktoken | undefined;
function encoder(): Tiktoken {
  shared ??= new Tiktoken(gpt2Ranks.default ?? (gpt2Ranks as unknown as ConstructorParameters<typeof Tiktoken>[0]));
  return shared;
}

export class Gpt2Tokenizer {
  readonly bosTokenId = BOS_TOKEN_ID;
  readonly vocabSize = GPT2_VOCAB_SIZE;

  /** Token ids of `text`; `<|endoftext|>` written in the text becomes token 50256, as Hugging Face's tokenizer does. */
  encode(text: string): number[] {
    return encoder().encode(text, "all");
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
    return encoder().decode([...tokens]);
  }
}
