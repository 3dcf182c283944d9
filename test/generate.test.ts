/**
 * model.generate against the float64 reference (greedy continuations, step logits, steering), the
 * key/value cache against full recomputation, seeded sampling, EOS and batching, hooks at every
 * step, and bad inputs with nothing left behind. The sampler's rules: generate.sampling.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookedTransformer, tf } from "../src";
import { generate as generateWith } from "../src/generation/generate";
import { WrittenCheckpoint, writeTinyCheckpoint } from "./fixtures/checkpoint";
import { compareArrays, describeComparison } from "./reference/compare";
import { Gpt2Params, NdArray, gpt2Params, naiveGreedyContinuation } from "./reference/naiveGpt2";
import { readSafetensorsF64 } from "./reference/safetensorsRead";

const quiet = { warn: () => {}, onProgress: () => {} };
const NO_BAR = { verbose: false };
const PROMPT = [[50256, 464, 3139, 286, 4881, 318]]; // "<|endoftext|>The capital of France is"

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): string | undefined {
  const a = Array.from(actual, (x) => x);
  const e = Array.from(expected, (x) => x);
  const c = compareArrays(a, e);
  return c.relative <= tol && c.nonFiniteMismatches === 0 ? undefined : describeComparison("logits", c);
}

/** x minus its mean (a processed model's logits are the reference's minus their mean: center_unembed). */
function centered(row: ArrayLike<number>): number[] {
  let m = 0;
  for (let i = 0; i < row.length; i++) m += row[i];
  m /= row.length;
  return Array.from(row, (x) => x - m);
}

function tokensOf(t: tf.Tensor2D): number[][] {
  const rows = t.arraySync();
  t.dispose();
  return rows;
}

describe("model.generate", function () {
  this.timeout(300_000);
  let root: string;
  let ck: WrittenCheckpoint;
  let params: Gpt2Params;
  let model: HookedTransformer;
  const savedOverride = process.env.MODEL_OVERRIDE_DIR;

  before(async () => {
    delete process.env.MODEL_OVERRIDE_DIR;
    root = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-generate-"));
    ck = writeTinyCheckpoint(path.join(root, "tiny"), { seed: 7, nLayers: 2, nHeads: 4, dModel: 32, nCtx: 32, dVocab: 50257, untiedLmHead: true });
    params = gpt2Params(readSafetensorsF64(ck.weightsPath), ck.config);
    model = await HookedTransformer.fromPretrained(ck.dir, quiet);
  });
  after(() => {
    model?.dispose();
    if (savedOverride !== undefined) process.env.MODEL_OVERRIDE_DIR = savedOverride;
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The reference's greedy continuation; fails if a step has a near tie (float32 could then differ). */
  function referenceGreedy(tokens: number[][], count: number, hooks?: Record<string, (a: NdArray) => NdArray | void>) {
    const ref = naiveGreedyContinuation(params, ck.config, tokens, count, { hooks });
    ref.margins.forEach((m, i) => assert.ok(m > 1e-3, `fixture: near tie at step ${i} (margin ${m}); pick another seed`));
    return ref;
  }

  describe("greedy generation equals the float64 reference's argmax continuation", () => {
    const cases: { name: string; options: object }[] = [
      { name: "doSample false, with the cache", options: { doSample: false } },
      { name: "doSample false, without the cache", options: { doSample: false, usePastKvCache: false } },
      { name: "temperature 0 (sampling on)", options: { temperature: 0, seed: 3 } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const expected = referenceGreedy(PROMPT, 8).tokens;
        const got = tokensOf(model.generate(PROMPT, { maxNewTokens: 8, stopAtEos: false, ...NO_BAR, ...c.options }) as tf.Tensor2D);
        assert.deepEqual(got, expected);
      });
    }
    it("a batch of two token rows", () => {
      const prompt = [PROMPT[0], [50256, 15496, 995, 11, 314, 716]];
      const expected = referenceGreedy(prompt, 6).tokens;
      assert.deepEqual(tokensOf(model.generate(prompt, { maxNewTokens: 6, doSample: false, stopAtEos: false, ...NO_BAR })), expected);
    });
    it("a text prompt gives the prompt and its continuation as text", () => {
      const expected = referenceGreedy(PROMPT, 5).tokens[0];
      const text = model.generate("The capital of France is", { maxNewTokens: 5, doSample: false, stopAtEos: false, ...NO_BAR });
      assert.equal(typeof text, "string");
      assert.equal(text, model.tokenizer.decode(expected.filter((t) => t !== 50256)));
    });
  });

  it("with and without the cache: equal tokens, and each step's logits agree to float32 precision (and with the reference)", () => {
    const steps = 6;
    const ref = referenceGreedy(PROMPT, steps);
    const record = (usePastKvCache: boolean) => {
      const logits: Float32Array[] = [];
      const out = generateWith(model, PROMPT, { maxNewTokens: steps, doSample: false, stopAtEos: false, usePastKvCache, verbose: false }, {
        onStepLogits: (_step, l) => logits.push(Float32Array.from(l)),
      }) as tf.Tensor2D;
      return { tokens: tokensOf(out), logits };
    };
    const withCache = record(true);
    const without = record(false);
    assert.deepEqual(withCache.tokens, without.tokens);
    assert.deepEqual(withCache.tokens, ref.tokens);
    assert.equal(withCache.logits.length, steps);
    for (let s = 0; s < steps; s++) {
      const problem = close(withCache.logits[s], without.logits[s]);
      assert.equal(problem, undefined, `step ${s + 1}, cache vs no cache: ${problem}`);
      const vsRef = close(centered(withCache.logits[s]), centered(ref.stepLogits[s][0]), 1e-4);
      assert.equal(vsRef, undefined, `step ${s + 1}, cache vs reference: ${vsRef}`);
    }
  });

  describe("seeded sampling", () => {
    const sample = (seed: number, extra: object = {}) =>
      tokensOf(model.generate(PROMPT, { maxNewTokens: 10, stopAtEos: false, seed, ...NO_BAR, ...extra }) as tf.Tensor2D);
    it("the same seed repeats exactly; another seed differs", () => {
      const a = sample(11);
      assert.deepEqual(sample(11), a);
      assert.notDeepEqual(sample(12), a);
    });
    it("the same seed repeats with topK, topP, temperature and freqPenalty, and without the cache", () => {
      for (const extra of [{ topK: 5 }, { topP: 0.9, temperature: 0.7 }, { freqPenalty: 2 }]) {
        const a = sample(21, extra);
        assert.deepEqual(sample(21, extra), a, JSON.stringify(extra));
        assert.deepEqual(sample(21, { ...extra, usePastKvCache: false }), a, `${JSON.stringify(extra)} without the cache`);
      }
    });
    it("topK 1 is greedy", () => {
      assert.deepEqual(sample(5, { topK: 1 }), referenceGreedy(PROMPT, 10).tokens);
    });
  });

  describe("EOS and batches", () => {
    it("stopAtEos stops at the EOS token (given by eosTokenId); stopAtEos false runs on", () => {
      const ref = referenceGreedy(PROMPT, 8).tokens[0];
      const eos = ref[PROMPT[0].length + 2]; // the third new token (or an earlier one equal to it)
      const end = ref.indexOf(eos, PROMPT[0].length) + 1;
      const stopped = tokensOf(model.generate(PROMPT, { maxNewTokens: 8, doSample: false, eosTokenId: eos, ...NO_BAR }));
      assert.deepEqual(stopped, [ref.slice(0, end)]);
      assert.ok(end < ref.length);
      const onward = tokensOf(model.generate(PROMPT, { maxNewTokens: 8, doSample: false, eosTokenId: eos, stopAtEos: false, ...NO_BAR }));
      assert.deepEqual(onward, [ref]);
    });
    it("a finished row is padded with EOS while the others run", () => {
      const prompt = [PROMPT[0], [50256, 15496, 995, 11, 314, 716]];
      const ref = referenceGreedy(prompt, 6).tokens;
      const P = prompt[0].length;
      const eos = ref[0][P + 1]; // row 0 stops at its second new token
      assert.ok(!ref[1].slice(P).includes(eos), "fixture: row 1 must not produce the EOS chosen for row 0");
      const got = tokensOf(model.generate(prompt, { maxNewTokens: 6, doSample: false, eosTokenId: eos, ...NO_BAR }));
      assert.deepEqual(got[0], [...ref[0].slice(0, P + 2), eos, eos, eos, eos]);
      assert.deepEqual(got[1], ref[1]);
    });
    it("prompts of different lengths are left-padded and masked: each row generates what it would alone", () => {
      const texts = ["The capital of France is", "Hello", "One two three four five six"];
      for (const usePastKvCache of [true, false]) {
        const batched = tokensOf(model.generate(texts, { maxNewTokens: 5, doSample: false, stopAtEos: false, usePastKvCache, returnType: "tokens", ...NO_BAR }));
        const width = Math.max(...texts.map((t) => model.toTokens(t).shape[1]));
        texts.forEach((text, b) => {
          const alone = model.toTokens(text).arraySync();
          const expected = referenceGreedy(alone, 5).tokens[0];
          const pads = width - alone[0].length;
          assert.deepEqual(batched[b], [...new Array(pads).fill(50256), ...expected], `row ${b} (cache ${usePastKvCache})`);
        });
      }
      const strings = model.generate(texts, { maxNewTokens: 3, doSample: false, stopAtEos: false, ...NO_BAR });
      assert.ok(Array.isArray(strings) && strings.length === 3);
      strings.forEach((s, b) => assert.ok(s.startsWith(texts[b]), s));
    });
  });

  const layer1 = "blocks.1.hook_resid_pre";
  describe("hooks", () => {
    it("a steering hook (a vector added at blocks.1.hook_resid_pre) changes the output, as in the reference", () => {
      const D = ck.config.n_embd;
      const direction = Array.from({ length: D }, (_, i) => 4 * Math.sin(i + 1));
      const plain = referenceGreedy(PROMPT, 8).tokens;
      const steeredRef = referenceGreedy(PROMPT, 8, {
        [layer1]: (a) => {
          for (let i = 0; i < a.data.length; i++) a.data[i] += direction[i % D];
        },
      }).tokens;
      assert.notDeepEqual(steeredRef, plain, "fixture: the steering vector must change the reference's continuation");
      const vec = tf.tensor1d(direction);
      const remove = model.hookDict.get(layer1)!.addHook((act) => tf.add(act, vec));
      try {
        for (const usePastKvCache of [true, false]) {
          const got = tokensOf(model.generate(PROMPT, { maxNewTokens: 8, doSample: false, stopAtEos: false, usePastKvCache, ...NO_BAR }) as tf.Tensor2D);
          assert.deepEqual(got, steeredRef, `cache ${usePastKvCache}`);
        }
      } finally {
        remove();
      }
      // The same through a scoped hook (TransformerLens's `with model.hooks(fwd_hooks=...)`), removed after.
      const scoped = model.hooks({ fwdHooks: [[layer1, (act) => tf.add(act, vec)]] }, () =>
        tokensOf(model.generate(PROMPT, { maxNewTokens: 8, doSample: false, stopAtEos: false, ...NO_BAR }) as tf.Tensor2D)
      );
      vec.dispose();
      assert.deepEqual(scoped, steeredRef);
      assert.equal(model.hookDict.get(layer1)!.hasHooks, false);
      assert.deepEqual(tokensOf(model.generate(PROMPT, { maxNewTokens: 8, doSample: false, stopAtEos: false, ...NO_BAR }) as tf.Tensor2D), plain);
    });

    it("hooks see [batch, prompt_pos, ...] on step 1 and one position after (the whole sequence without the cache)", () => {
      const seen: Record<string, number[][]> = { resid: [], pattern: [], k: [] };
      const removers = [
        model.hookDict.get(layer1)!.addHook((a) => void seen.resid.push(a.shape)),
        model.hookDict.get("blocks.0.attn.hook_pattern")!.addHook((a) => void seen.pattern.push(a.shape)),
        model.hookDict.get("blocks.0.attn.hook_k")!.addHook((a) => void seen.k.push(a.shape)),
      ];
      const P = PROMPT[0].length;
      const H = model.cfg.nHeads;
      try {
        tokensOf(model.generate(PROMPT, { maxNewTokens: 3, doSample: false, stopAtEos: false, ...NO_BAR }) as tf.Tensor2D);
        assert.deepEqual(seen.resid, [[1, P, 32], [1, 1, 32], [1, 1, 32]]);
        assert.deepEqual(seen.pattern, [[1, H, P, P], [1, H, 1, P + 1], [1, H, 1, P + 2]]);
        assert.deepEqual(seen.k, [[1, P, H, 8], [1, 1, H, 8], [1, 1, H, 8]]);
        for (const k of Object.keys(seen)) seen[k] = [];
        tokensOf(model.generate(PROMPT, { maxNewTokens: 3, doSample: false, stopAtEos: false, usePastKvCache: false, ...NO_BAR }) as tf.Tensor2D);
        assert.deepEqual(seen.resid, [[1, P, 32], [1, P + 1, 32], [1, P + 2, 32]]);
        assert.deepEqual(seen.pattern, [[1, H, P, P], [1, H, P + 1, P + 1], [1, H, P + 2, P + 2]]);
      } finally {
        removers.forEach((r) => r());
      }
    });

    it("an attn_scores hook sees the masked scores over every cached key", () => {
      const rows: number[][] = [];
      const remove = model.hookDict.get("blocks.1.attn.hook_attn_scores")!.addHook((a) => void rows.push(a.shape));
      try {
        tokensOf(model.generate(PROMPT, { maxNewTokens: 2, doSample: false, stopAtEos: false, ...NO_BAR }) as tf.Tensor2D);
      } finally {
        remove();
      }
      assert.deepEqual(rows, [[1, 4, 6, 6], [1, 4, 1, 7]]);
    });
  });

  describe("no tensor leaks", () => {
    const runs: [string, () => unknown][] = [
      ["a text prompt, sampled", () => model.generate("Hello", { maxNewTokens: 4, seed: 1, ...NO_BAR })],
      ["a batch of texts of different lengths", () => model.generate(["Hello", "The capital of France"], { maxNewTokens: 4, seed: 1, ...NO_BAR })],
      ["the same without the cache", () => model.generate(["Hello", "The capital of France"], { maxNewTokens: 4, seed: 1, usePastKvCache: false, ...NO_BAR })],
      ["tokens in, tokens out (disposed by the caller)", () => (model.generate(PROMPT, { maxNewTokens: 4, topP: 0.8, seed: 1, ...NO_BAR }) as tf.Tensor2D).dispose()],
    ];
    for (const [name, run] of runs) {
      it(name, () => {
        run(); // warm up: the first run may create backend state
        const before = tf.memory().numTensors;
        run();
        assert.equal(tf.memory().numTensors, before);
      });
    }

    it("a hook that throws mid-generation: a clear error, the cache freed, the model usable after", () => {
      let calls = 0;
      const hp = model.hookDict.get(layer1)!;
      const remove = hp.addHook(() => {
        calls++;
        if (calls === 3) throw new Error("boom");
      });
      const before = tf.memory().numTensors;
      const input = tf.tensor2d(PROMPT, [1, PROMPT[0].length], "int32");
      try {
        for (const usePastKvCache of [true, false]) {
          calls = 0;
          assert.throws(
            () => model.generate(input, { maxNewTokens: 5, usePastKvCache, ...NO_BAR }),
            (e: Error) => /generate, step 3 of 5: Hook on "blocks.1.hook_resid_pre" threw: boom/.test(e.message)
          );
          assert.equal(tf.memory().numTensors, before + 1, `cache ${usePastKvCache}: only the caller's input is left`);
        }
      } finally {
        remove();
      }
      // Inside model.hooks: the same error, and the scope's hook is gone afterwards.
      calls = 0;
      const throwing = () => {
        if (++calls === 2) throw new Error("scoped boom");
      };
      assert.throws(
        () => model.hooks({ fwdHooks: [[layer1, throwing]] }, () => model.generate(input, { maxNewTokens: 5, ...NO_BAR })),
        /generate, step 2 of 5: Hook on "blocks.1.hook_resid_pre" threw: scoped boom/
      );
      assert.equal(tf.memory().numTensors, before + 1);
      assert.equal(hp.hasHooks, false);
      assert.ok(!input.isDisposed, "the caller's tokens stay the caller's");
      input.dispose();
      assert.equal(hp.hasHooks, false);
      assert.deepEqual(tokensOf(model.generate(PROMPT, { maxNewTokens: 3, doSample: false, stopAtEos: false, ...NO_BAR }) as tf.Tensor2D), referenceGreedy(PROMPT, 3).tokens);
    });
  });

  describe("options and bad input", () => {
    it("returnType: input, str and tokens", () => {
      const t = model.generate("Hello", { maxNewTokens: 2, seed: 1, returnType: "tokens", ...NO_BAR });
      assert.ok(t instanceof tf.Tensor && t.dtype === "int32" && t.shape[0] === 1 && t.shape[1] === 4);
      const text = model.generate("Hello", { maxNewTokens: 2, seed: 1, ...NO_BAR });
      assert.equal(text, model.tokenizer.decode(tokensOf(t)[0].slice(1)));
      assert.deepEqual(model.generate(PROMPT, { maxNewTokens: 2, doSample: false, returnType: "str", ...NO_BAR }), [
        model.tokenizer.decode(referenceGreedy(PROMPT, 2).tokens[0].slice(1)),
      ]);
      const texts = model.generate(["Hello"], { maxNewTokens: 2, seed: 1, ...NO_BAR });
      assert.deepEqual(texts, [text]);
      const noBos = tokensOf(model.generate("Hello", { maxNewTokens: 1, prependBos: false, returnType: "tokens", ...NO_BAR }));
      assert.equal(noBos[0][0], 15496);
      assert.equal(noBos[0].length, 2);
      assert.equal(model.generate("Hello", { maxNewTokens: 0, ...NO_BAR }), "Hello");
    });

    const long = [new Array(30).fill(464)];
    const cases: [string, () => unknown, RegExp][] = [
      ["a prompt longer than n_ctx − maxNewTokens", () => model.generate(long, { maxNewTokens: 5, ...NO_BAR }), /30 tokens and maxNewTokens is 5: 35 positions, more than the model's context of 32 \(n_ctx\)\. Shorten the prompt to at most 27/],
      ["the same as text", () => model.generate("a".repeat(0) + " the".repeat(40), { maxNewTokens: 1, ...NO_BAR }), /n_ctx/],
      ["an unknown returnType", () => model.generate("Hi", { returnType: "embeds" as never, ...NO_BAR }), /returnType must be "input", "str" or "tokens"; got "embeds"/],
      ["a bad topP", () => model.generate("Hi", { topP: 0, ...NO_BAR }), /topP must be in \(0, 1\]/],
      ["a negative maxNewTokens", () => model.generate("Hi", { maxNewTokens: -1, ...NO_BAR }), /maxNewTokens must be an integer ≥ 0/],
      ["an empty list", () => model.generate([] as string[], NO_BAR), /empty list of prompts/],
      ["an empty prompt", () => model.generate("", { prependBos: false, ...NO_BAR }), /prompt is empty/],
      ["embeddings", () => model.generate(tf.zeros([1, 2, 32]) as never, NO_BAR), /embeddings input is not supported/],
      ["a token id out of range", () => model.generate([[50256, 60000]], NO_BAR), /Token id 60000 at \[batch 0, position 1\]/],
      ["a bad eosTokenId", () => model.generate("Hi", { eosTokenId: [], ...NO_BAR }), /eosTokenId must be a token id/],
    ];
    for (const [name, run, message] of cases) {
      it(`${name}: a clear error, nothing left behind`, () => {
        const before = tf.memory().numTensors;
        assert.throws(run, message);
        // the embeddings case made one tensor of its own before the call
        assert.ok(tf.memory().numTensors - before <= (name === "embeddings" ? 1 : 0), `leaked: ${tf.memory().numTensors - before}`);
      });
    }
  });
});
