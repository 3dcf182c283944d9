/**
 * HookedTransformer behaviour other than numerical parity (see parity.test.ts): tokenizer tables,
 * activation names, loading variants and every bad input, each with its error, nothing left
 * behind and no tensor leaked.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ActivationCache, HookedTransformer, tf, utils } from "../src";
import { Corruption, writeGpt2SmallShapedCheckpoint, writeTinyCheckpoint } from "./fixtures/checkpoint";
import { LoopbackHub } from "./helpers/loopbackHub";
import { assertFailsCleanly } from "./helpers/assertions";

const quiet = { warn: () => {}, onProgress: () => {} };

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mechinterp-${tag}-`));
}

describe("HookedTransformer", function () {
  let dir: string;
  let model: HookedTransformer;

  before(async () => {
    dir = tmpDir("model");
    writeTinyCheckpoint(path.join(dir, "tiny"), { nLayers: 2, nHeads: 4, dModel: 32, nCtx: 16 });
    model = await HookedTransformer.fromPretrained(path.join(dir, "tiny"), quiet);
  });
  after(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("tokenizer (GPT-2 BPE)", () => {
    const table: [string, number[]][] = [
      ["The capital of France is", [50256, 464, 3139, 286, 4881, 318]],
      ["Hello world", [50256, 15496, 995]],
      [" Paris", [50256, 6342]],
      ["<|endoftext|>", [50256, 50256]],
    ];
    for (const [text, ids] of table) {
      it(`${JSON.stringify(text)} → ${ids.join(" ")} and back`, () => {
        const t = model.toTokens(text);
        assert.deepEqual(t.arraySync(), [ids]);
        assert.equal(model.toString(t.squeeze([0]) as tf.Tensor1D), "<|endoftext|>" + text);
        t.dispose();
      });
    }
    it("prependBos: false leaves BOS out", () => {
      const t = model.toTokens("The capital", { prependBos: false });
      assert.deepEqual(t.arraySync(), [[464, 3139]]);
      t.dispose();
    });
    it("toStrTokens splits into token strings", () => {
      assert.deepEqual(model.toStrTokens("The capital of France is"), ["<|endoftext|>", "The", " capital", " of", " France", " is"]);
      assert.deepEqual(model.toStrTokens([464, 3139]), ["The", " capital"]);
      assert.deepEqual(model.toStrTokens([[464, 3139]]), ["The", " capital"]);
      assert.throws(() => model.toStrTokens([[464], [3139]]), /one sequence; got a batch of 2/);
    });
    it("toString decodes numbers, rows and batches; without arguments it describes the model", () => {
      assert.equal(model.toString(6342), " Paris");
      assert.deepEqual(model.toString([[464], [3139]]), ["The", " capital"]);
      assert.match(model.toString(), /HookedTransformer\(tiny/);
      assert.match(`${model}`, /HookedTransformer/);
    });
    it("toSingleToken returns the id or says how many tokens the text is", async () => {
      assert.equal(model.toSingleToken(" Paris"), 6342);
      await assertFailsCleanly(() => model.toSingleToken(" Parisian capital"), /is 3 tokens/, /not one/);
    });
    it("a batch of texts is right-padded with <|endoftext|>", () => {
      const t = model.toTokens(["Hello world", "Hello"]);
      assert.deepEqual(t.arraySync(), [[50256, 15496, 995], [50256, 15496, 50256]]);
      t.dispose();
    });
  });

  describe("utils.getActName", () => {
    const table: [Parameters<typeof utils.getActName>, string][] = [
      [["pattern", 5], "blocks.5.attn.hook_pattern"],
      [["attn", 5], "blocks.5.attn.hook_pattern"],
      [["attn_scores", 0], "blocks.0.attn.hook_attn_scores"],
      [["attn_logits", 0], "blocks.0.attn.hook_attn_scores"],
      [["q", 1], "blocks.1.attn.hook_q"],
      [["query", 1], "blocks.1.attn.hook_q"],
      [["key", 1], "blocks.1.attn.hook_k"],
      [["value", 1], "blocks.1.attn.hook_v"],
      [["z", 1], "blocks.1.attn.hook_z"],
      [["resid_pre", 0], "blocks.0.hook_resid_pre"],
      [["resid_mid", 3], "blocks.3.hook_resid_mid"],
      [["resid_post", 11], "blocks.11.hook_resid_post"],
      [["attn_out", 5], "blocks.5.hook_attn_out"],
      [["mlp_out", 5], "blocks.5.hook_mlp_out"],
      [["pre", 2], "blocks.2.mlp.hook_pre"],
      [["mlp_post", 2], "blocks.2.mlp.hook_post"],
      [["scale", 3, "ln1"], "blocks.3.ln1.hook_scale"],
      [["normalized", 3, "ln2"], "blocks.3.ln2.hook_normalized"],
      [["scale"], "ln_final.hook_scale"],
      [["normalized"], "ln_final.hook_normalized"],
      [["embed"], "hook_embed"],
      [["pos_embed"], "hook_pos_embed"],
      [["k6a"], "blocks.6.attn.hook_k"],
      [["pre2"], "blocks.2.mlp.hook_pre"],
      [["blocks.2.hook_mlp_out"], "blocks.2.hook_mlp_out"],
    ];
    for (const [args, full] of table) it(`${JSON.stringify(args)} → ${full}`, () => assert.equal(utils.getActName(...args), full));
  });

  describe("ActivationCache", () => {
    it("holds every hook point, in forward order, with TransformerLens's shapes", () => {
      const [logits, cache] = model.runWithCache("The capital of France is");
      const cfg = model.cfg;
      assert.deepEqual(logits.shape, [1, 6, cfg.dVocab]);
      assert.equal(cache.size, 2 + 17 * cfg.nLayers + 2);
      assert.deepEqual(cache.keys().slice(0, 12), [
        "hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
        "blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v", "blocks.0.attn.hook_attn_scores",
        "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z", "blocks.0.hook_attn_out",
      ]);
      const shapes: [string, number | undefined, string | undefined, number[]][] = [
        ["pattern", 1, undefined, [1, cfg.nHeads, 6, 6]],
        ["attn_scores", 0, undefined, [1, cfg.nHeads, 6, 6]],
        ["q", 1, undefined, [1, 6, cfg.nHeads, cfg.dHead]],
        ["z", -1, undefined, [1, 6, cfg.nHeads, cfg.dHead]],
        ["scale", 0, "ln1", [1, 6, 1]],
        ["normalized", 1, "ln2", [1, 6, cfg.dModel]],
        ["pre", 0, undefined, [1, 6, cfg.dMlp]],
        ["resid_post", -1, undefined, [1, 6, cfg.dModel]],
        ["scale", undefined, undefined, [1, 6, 1]],
      ];
      for (const [name, layer, type, shape] of shapes) assert.deepEqual(cache.get(name, layer, type).shape, shape, `${name} ${layer}`);
      assert.equal(cache.get("resid_post", -1), cache.get("blocks.1.hook_resid_post"));
      // masked scores are -Infinity above the diagonal, patterns zero there
      const scores = cache.get("attn_scores", 0).arraySync() as number[][][][];
      const pattern = cache.get("pattern", 0).arraySync() as number[][][][];
      assert.equal(scores[0][2][1][4], -Infinity);
      assert.equal(pattern[0][2][1][4], 0);
      assert.ok(Number.isFinite(scores[0][2][4][1]));
      logits.dispose();
      cache.dispose();
    });

    it("an unknown name lists the closest valid names", async () => {
      const [logits, cache] = model.runWithCache("Hi");
      await assertFailsCleanly(() => cache.get("blocks.0.attn.hook_paterns"), /No activation/, /blocks\.0\.attn\.hook_pattern/);
      await assertFailsCleanly(() => cache.get("resid_pre", 7), /Layer 7 is out of range/);
      logits.dispose();
      cache.dispose();
      await assertFailsCleanly(() => cache.get("resid_pre", 0), /disposed/);
    });

    it("namesFilter keeps only what was asked for; unknown filter names fail", async () => {
      const [logits, cache] = model.runWithCache("Hi there", { namesFilter: ["blocks.1.attn.hook_pattern", "hook_embed"] });
      assert.deepEqual(cache.keys(), ["hook_embed", "blocks.1.attn.hook_pattern"]);
      logits.dispose();
      cache.dispose();
      const [l2, c2] = model.runWithCache("Hi there", { namesFilter: (n) => n.endsWith("hook_scale") });
      assert.equal(c2.size, 2 * model.cfg.nLayers + 1);
      l2.dispose();
      c2.dispose();
      await assertFailsCleanly(() => model.runWithCache("Hi", { namesFilter: "blocks.0.hook_resid_prex" }), /Unknown hook name/, /blocks\.0\.hook_resid_pre/);
    });

    it("removeBatchDim drops the batch axis from logits and every activation", () => {
      const [logits, cache] = model.runWithCache("Hi there", { removeBatchDim: true });
      assert.ok(cache instanceof ActivationCache);
      assert.deepEqual(logits.shape, [3, model.cfg.dVocab]);
      assert.deepEqual(cache.get("pattern", 0).shape, [model.cfg.nHeads, 3, 3]);
      logits.dispose();
      cache.dispose();
    });

    it("forward, loss, runWithCache and runWithHooks leak no tensors", () => {
      const before = tf.memory().numTensors;
      model.forward("Hi there").dispose();
      model.forward("Hi there", { returnType: "loss" }).dispose();
      const both = model.forward([[1, 2, 3]], { returnType: "both", lossPerToken: true });
      assert.deepEqual(both.loss.shape, [1, 2]);
      both.logits.dispose();
      both.loss.dispose();
      const [l, c] = model.runWithCache("Hi there");
      l.dispose();
      c.dispose();
      (model.runWithHooks("Hi", { fwdHooks: [["blocks.0.attn.hook_z", (z) => tf.zerosLike(z)]] }) as tf.Tensor).dispose();
      const tokens = model.toTokens("Hi");
      model.forward(tokens).dispose();
      assert.ok(!tokens.isDisposed, "a tokens tensor passed in stays the caller's");
      tokens.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  });

  describe("hooks", () => {
    it("a replacement flows downstream and the hook is gone afterwards", () => {
      const base = model.forward("The capital of France is");
      const ablated = model.runWithHooks("The capital of France is", {
        fwdHooks: [[(n) => n.endsWith("hook_mlp_out"), (act) => tf.zerosLike(act)]],
      }) as tf.Tensor;
      const again = model.forward("The capital of France is");
      assert.ok(tf.max(tf.abs(tf.sub(base, ablated))).dataSync()[0] > 1e-3, "zeroing every MLP changes the logits");
      assert.equal(tf.max(tf.abs(tf.sub(base, again))).dataSync()[0], 0, "hooks removed after the call");
      tf.dispose([base, ablated, again]);
    });

    it("a hook returning the wrong shape fails naming the hook; hooks are removed and nothing leaks", async () => {
      await assertFailsCleanly(
        () => model.runWithHooks("Hi", { fwdHooks: [["blocks.1.attn.hook_z", (z) => tf.zeros([1, 2, 3])]] }),
        /blocks\.1\.attn\.hook_z/,
        /shape \[1, 2, 3\]/,
        /\[1, 2, 4, 8\]/
      );
      const hp = model.hookDict.get("blocks.1.attn.hook_z")!;
      assert.equal(hp.hasHooks, false);
    });

    it("a hook that throws fails naming the hook; hooks are removed and nothing leaks", async () => {
      await assertFailsCleanly(
        () => model.runWithHooks("Hi", { fwdHooks: [["blocks.0.hook_resid_mid", () => { throw new Error("boom"); }]] }),
        /Hook on "blocks\.0\.hook_resid_mid" threw: boom/
      );
      assert.equal(model.hookDict.get("blocks.0.hook_resid_mid")!.hasHooks, false);
    });

    it("an unknown hook name fails with the closest names and adds no hook", async () => {
      await assertFailsCleanly(
        () => model.runWithHooks("Hi", { fwdHooks: [["blocks.0.attn.hook_q", () => {}], ["blocks.0.attn.hook_qq", () => {}]] }),
        /Unknown hook name "blocks\.0\.attn\.hook_qq"/,
        /blocks\.0\.attn\.hook_q\b/
      );
      assert.equal(model.hookDict.get("blocks.0.attn.hook_q")!.hasHooks, false);
    });
  });

  describe("bad tokens", () => {
    const cases: [string, () => unknown, RegExp[]][] = [
      ["an id at or above d_vocab", () => model.forward([[1, 50257]]), [/Token id 50257 at \[batch 0, position 1\]/, /0\.\.50256/]],
      ["a negative id", () => model.forward([[-1]]), [/Token id -1/]],
      ["a non-integer id", () => model.forward([[1.5]]), [/Token id 1\.5/]],
      ["an empty sequence", () => model.forward([[]]), [/empty/]],
      ["an empty batch", () => model.forward([]), [/empty or 1-D/]],
      ["a sequence longer than n_ctx", () => model.forward([new Array(17).fill(1)]), [/17 tokens/, /context is 16/]],
      ["ragged rows", () => model.forward([[1, 2], [3]]), [/same length/]],
      ["a float tokens tensor", () => tf.tidy(() => model.forward(tf.tensor2d([[1, 2]]))), [/int32/]],
      ["a 1-D tokens tensor", () => tf.tidy(() => model.forward(tf.tensor1d([1, 2], "int32") as never)), [/2-D/]],
      ["the loss of a single token", () => model.forward([[1]], { returnType: "loss" }), [/at least 2 tokens/]],
    ];
    for (const [what, fn, patterns] of cases) it(`rejects ${what}`, () => assertFailsCleanly(fn, ...patterns));
  });

  describe("loading", () => {
    it("a tied and an untied lm_head, with or without the transformer. prefix, in F16 and BF16", async () => {
      for (const opts of [
        { keyPrefix: "transformer." as const, untiedLmHead: true },
        { dtype: "F16" as const, maskDtype: "U8" as const },
        { dtype: "BF16" as const, includeMaskBuffers: false },
      ]) {
        const d = path.join(dir, `variant-${Object.values(opts).join("-")}`);
        writeTinyCheckpoint(d, { nLayers: 1, nHeads: 2, dModel: 8, nCtx: 8, ...opts });
        const m = await HookedTransformer.fromPretrainedNoProcessing(d, quiet);
        const wte = m.W_E.arraySync() as number[][];
        const wu = m.W_U.arraySync() as number[][];
        const tied = wte.every((row, v) => row.every((x, k) => x === wu[k][v]));
        assert.equal(tied, !("untiedLmHead" in opts), `W_U tied to W_E: ${JSON.stringify(opts)}`);
        m.dispose();
      }
    });

    it("parameter counts: processed drops LayerNorm weights, unprocessed keeps them", async () => {
      const unprocessed = await HookedTransformer.fromPretrainedNoProcessing(path.join(dir, "tiny"), quiet);
      const { nLayers: L, dModel: d, dMlp: m, dVocab: V, nCtx } = model.cfg;
      const perLayer = 4 * d * d + 3 * d + d + d * m + m + m * d + d;
      const processed = V * d + nCtx * d + L * perLayer + d * V + V;
      assert.equal(model.numParameters(), processed);
      assert.equal(unprocessed.numParameters(), processed + L * 4 * d + 2 * d);
      assert.deepEqual(model.namedParameters().slice(0, 3).map(([n]) => n), ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q"]);
      assert.deepEqual(model.W_Q.shape, [L, model.cfg.nHeads, d, model.cfg.dHead]);
      unprocessed.dispose();
    });

    it("GPT-2 small's shape: 163,049,041 parameters processed and 208 cached activations", async function () {
      const d = path.join(dir, "gpt2-small-shaped");
      writeGpt2SmallShapedCheckpoint(d, { dtype: "F16", includeMaskBuffers: false });
      const m = await HookedTransformer.fromPretrained(d, quiet);
      try {
        assert.equal(m.numParameters(), 163_049_041);
        assert.deepEqual(
          [m.cfg.nLayers, m.cfg.nHeads, m.cfg.dModel, m.cfg.dHead, m.cfg.dMlp, m.cfg.dVocab, m.cfg.nCtx, m.cfg.actFn],
          [12, 12, 768, 64, 3072, 50257, 1024, "gelu_new"]
        );
        const [logits, cache] = m.runWithCache([[50256, 464]]);
        assert.equal(cache.size, 208);
        logits.dispose();
        cache.dispose();
      } finally {
        m.dispose();
        fs.rmSync(d, { recursive: true, force: true });
      }
    });

    const broken: [string, Corruption | undefined, Record<string, unknown> | undefined, RegExp[]][] = [
      ["a truncated file", { kind: "truncate" }, undefined, [/Invalid safetensors file .*model\.safetensors/, /truncated or corrupt/]],
      ["a header length beyond the file", { kind: "headerLengthTooLarge" }, undefined, [/header claims \d+ bytes/]],
      ["a header that is not JSON", { kind: "headerNotJson" }, undefined, [/not valid JSON/]],
      ["data offsets beyond the data", { kind: "offsetsBeyondData" }, undefined, [/ends at byte \d+ of the data section/]],
      ["data offsets that disagree with the shape", { kind: "offsetsDisagreeWithShape" }, undefined, [/needs \d+ bytes but its data_offsets span \d+/]],
      ["a tensor shape that disagrees with config.json", { kind: "shapeMismatch", tensor: "h.0.attn.c_attn.weight" }, undefined, [/does not match its config\.json/, /h\.0\.attn\.c_attn\.weight/, /\[96, 32\]/]],
      ["an unsupported dtype", { kind: "unsupportedDtype", tensor: "h.0.mlp.c_fc.bias" }, undefined, [/h\.0\.mlp\.c_fc\.bias/, /dtype I64/, /F32, F16, BF16/]],
      ["a missing tensor", { kind: "missingTensor", tensor: "ln_f.bias" }, undefined, [/missing tensor "ln_f\.bias"/]],
      ["config.json with more layers than the file", undefined, { n_layer: 3 }, [/missing tensor "h\.2\./]],
      ["a config.json that is not GPT-2", undefined, { model_type: "llama" }, [/model_type is "llama"/]],
      // As strict as the reference safetensors implementation, which rejects each of these.
      ["a tensor named twice in the header", { kind: "duplicateKey" }, undefined, [/names "ln_f\.weight" more than once/]],
      ["two tensors over the same bytes", { kind: "overlappingTensors" }, undefined, [/"h\.0\.ln_1\.weight" and "h\.0\.ln_1\.bias" overlap/]],
      ["unused bytes between tensors", { kind: "gapBeforeLast" }, undefined, [/4 unused bytes between "[^"]+" and "[^"]+"/]],
      ["bytes after the last tensor", { kind: "trailingBytes", bytes: 16 }, undefined, [/16 bytes after the last tensor/]],
      ["a NaN weight", { kind: "nonFinite" }, undefined, [/Tensor "h\.0\.mlp\.c_fc\.weight" in .*model\.safetensors holds NaN at \[0, 3\]/, /must be finite/]],
      ["an infinite weight", { kind: "nonFinite", tensor: "ln_f.bias", value: Infinity }, undefined, [/Tensor "ln_f\.bias" .* holds Infinity at \[3\]/]],
      // config.json fields that change the maths are refused by name, numbers are validated.
      ["scale_attn_weights false", undefined, { scale_attn_weights: false }, [/"scale_attn_weights" is false, which is not supported/]],
      ["scale_attn_by_inverse_layer_idx true", undefined, { scale_attn_by_inverse_layer_idx: true }, [/"scale_attn_by_inverse_layer_idx" is true, which is not supported/]],
      ["add_cross_attention true", undefined, { add_cross_attention: true }, [/"add_cross_attention" is true/]],
      ["a layer_norm_epsilon that is not a number", undefined, { layer_norm_epsilon: "abc" }, [/"layer_norm_epsilon" must be a small positive number .* got "abc"/]],
      ["a negative layer_norm_epsilon", undefined, { layer_norm_epsilon: -1 }, [/"layer_norm_epsilon" must be a small positive number .* got -1/]],
      ["a fractional n_inner", undefined, { n_inner: 12.5 }, [/"n_inner" must be a positive integer, got 12\.5/]],
    ];
    for (const [what, corrupt, configOverrides, patterns] of broken) {
      it(`fails clearly on ${what}`, async () => {
        const d = path.join(dir, `broken-${what.replace(/\W+/g, "-")}`);
        writeTinyCheckpoint(d, { corrupt, configOverrides });
        const listing = fs.readdirSync(d).sort();
        await assertFailsCleanly(() => HookedTransformer.fromPretrained(d, quiet), ...patterns);
        assert.deepEqual(fs.readdirSync(d).sort(), listing, "a failed load writes nothing");
      });
    }

    it("fails clearly on a directory without model.safetensors", async () => {
      const d = tmpDir("empty");
      fs.writeFileSync(path.join(d, "config.json"), "{}");
      await assertFailsCleanly(() => HookedTransformer.fromPretrained(d, quiet), /missing model\.safetensors/);
      fs.rmSync(d, { recursive: true });
    });

    it("an unknown model name fails at once without touching the network", async () => {
      const hub = await LoopbackHub.start({ repoId: "openai-community/gpt2", files: {} });
      try {
        await assertFailsCleanly(
          () => HookedTransformer.fromPretrained("gpt3-small", { ...quiet, endpoint: hub.url, cacheDir: tmpDir("cache") }),
          /Unknown model "gpt3-small"/,
          /gpt2-small/
        );
        assert.equal(hub.requests.length, 0);
      } finally {
        await hub.close();
      }
    });

    it("MODEL_OVERRIDE_DIR replaces any name, with a warning naming both", async () => {
      const warnings: string[] = [];
      process.env.MODEL_OVERRIDE_DIR = path.join(dir, "tiny");
      try {
        const m = await HookedTransformer.fromPretrained("gpt2-small", { warn: (w) => warnings.push(w), onProgress: () => {} });
        assert.equal(m.cfg.modelName, "gpt2");
        assert.equal(m.cfg.dModel, 32);
        m.dispose();
      } finally {
        delete process.env.MODEL_OVERRIDE_DIR;
      }
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /MODEL_OVERRIDE_DIR/);
      assert.match(warnings[0], /"gpt2-small"/);
      assert.ok(warnings[0].includes(path.join(dir, "tiny")));
    });

    it("a preset name downloads config.json and model.safetensors once from the hub into the HF cache", async () => {
      const src = path.join(dir, "tiny");
      const hub = await LoopbackHub.start({
        repoId: "openai-community/gpt2",
        files: {
          "config.json": { content: fs.readFileSync(path.join(src, "config.json")), lfs: false },
          "model.safetensors": { content: fs.readFileSync(path.join(src, "model.safetensors")) },
        },
      });
      const cacheDir = tmpDir("hf-cache");
      try {
        const events: string[] = [];
        const opts = { endpoint: hub.url, cacheDir, warn: () => {}, onProgress: (e: { status: string }) => events.push(e.status) };
        const m = await HookedTransformer.fromPretrained("gpt2-small", opts);
        assert.equal(m.cfg.modelName, "gpt2");
        const logits = m.forward("Hi");
        const local = model.forward("Hi");
        assert.equal(tf.max(tf.abs(tf.sub(logits, local))).dataSync()[0], 0, "same weights as the local folder");
        tf.dispose([logits, local]);
        m.dispose();
        assert.ok(events.includes("done"));
        assert.ok(fs.existsSync(path.join(cacheDir, "models--openai-community--gpt2", "snapshots", hub.commit, "model.safetensors")));
        const requestsAfterFirst = hub.requests.length;
        const m2 = await HookedTransformer.fromPretrained("gpt2", opts);
        m2.dispose();
        assert.equal(hub.requests.length, requestsAfterFirst, "the second load uses the cache");
      } finally {
        await hub.close();
        fs.rmSync(cacheDir, { recursive: true, force: true });
      }
    });

    it("an unknown backend name fails clearly", async () => {
      await assertFailsCleanly(() => HookedTransformer.fromPretrained(path.join(dir, "tiny"), { ...quiet, backend: "tpu" as never }), /Unknown backend "tpu"/);
    });
  });
});
