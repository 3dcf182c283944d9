/**
 * The GPT-2 tokenizer: the same ids as tiktoken's GPT-2 encoding (js-tiktoken, an independent
 * implementation of the same merges) on a table of texts and on seeded random ones, the same text
 * back for every id, and long inputs in near-linear time: text far beyond the context fails with
 * the n_ctx error at once instead of after minutes of quadratic merging.
 */
import { strict as assert } from "assert";
import { Tiktoken } from "js-tiktoken/lite";
import { Gpt2Tokenizer, TooManyTokensError } from "../src/tokenizer/gpt2Tokenizer";
import { prepareTokens } from "../src/model/tokens";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ranks = require("js-tiktoken/ranks/gpt2");
const tiktoken = new Tiktoken(ranks.default ?? ranks);
const ours = new Gpt2Tokenizer();

/** A small seeded generator (mulberry32), so the random texts are the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("GPT-2 tokenizer", () => {
  const table: [string, string][] = [
    ["a sentence", "The capital of France is"],
    ["contractions", "I'm sure it's what they'd've said, isn't it? I’m"],
    ["whitespace runs", "Hello   world\n\n  x\t\t y   "],
    ["special token inside text", "<|endoftext|>abc<|endoftext|><|endoftext|>"],
    ["accents, CJK, emoji", "naïve café 東京 🤖🤖 Ünïcödé"],
    ["numbers and symbols", "1234567890 3.14159 ${}[]() == !== => ###"],
    ["a long run of one letter", "a".repeat(3000)],
    ["a long run of two letters", " " + "ab".repeat(700) + "!!!!"],
    ["a long run of digits", "7".repeat(2500)],
    ["code", "def hello_world():\n    print('Hello, world!')"],
  ];
  for (const [what, text] of table) {
    it(`${what}: the same ids as tiktoken, and back to the text`, () => {
      const ids = ours.encode(text);
      assert.deepEqual(ids, tiktoken.encode(text, "all"));
      assert.equal(ours.decode(ids), text);
    });
  }

  it("seeded random texts over a mixed alphabet: the same ids as tiktoken", () => {
    const alphabet = ["a", "b", "e", "t", " ", "  ", "\n", "'", "s", "1", "9", ".", "é", "東", "🤖", "!", "The", " the", "ing"];
    const next = rng(12345);
    for (let i = 0; i < 200; i++) {
      const length = 1 + Math.floor(next() * 300);
      let text = "";
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)];
      assert.deepEqual(ours.encode(text), tiktoken.encode(text, "all"), `text ${JSON.stringify(text)}`);
    }
  });

  it("decodes every id as tiktoken does (including <|endoftext|> and partial UTF-8)", () => {
    for (let id = 0; id < 50257; id++) assert.equal(ours.decode([id]), tiktoken.decode([id]), `id ${id}`);
    assert.equal(ours.decode([447, 247]), "’");
  });

  it("maxTokens: stops with TooManyTokensError once the text is known to be longer", () => {
    assert.deepEqual(ours.encode("one two three", { maxTokens: 3 }), [505, 734, 1115]);
    assert.throws(() => ours.encode("one two three four", { maxTokens: 3 }), (e) => e instanceof TooManyTokensError && e.maxTokens === 3);
  });

  // Not a speed benchmark: the bound is ~20x what this machine takes (about 0.1 s), and ~1000x below
  // the quadratic merging this replaced (20,000 letters took 86 s there).
  it("100,000 characters fail with the n_ctx error in well under 2 s, letters in a row included", () => {
    for (const text of ["a".repeat(100_000), "hello world ".repeat(8_500), "x".repeat(20_000)]) {
      const started = Date.now();
      assert.throws(
        () => prepareTokens(text, { tokenizer: ours, dVocab: 50257, nCtx: 1024 }),
        /more than 1024 tokens long but the model's context is 1024 \(n_ctx\); shorten it/
      );
      const took = Date.now() - started;
      assert.ok(took < 2000, `${text.length} characters took ${took} ms`);
    }
  });
});
