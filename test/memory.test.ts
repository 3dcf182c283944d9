/**
 * Memory (issue 10): results freed once unreachable, exact dispose and tf.tidy, load → dispose
 * leaving tf.memory() as before on every load path, tensor bytes = 4 × parameters + the flat Q/K/V
 * biases, out-of-memory as an Error on a small test-only wasm limit (and the next call works),
 * re-entrant runs from hooks, and the backend rule from the model's size.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookedTransformer, OutOfMemoryError, chooseBackend, collectUnreachable, heldBytes, initBackend, setWasmTensorLimit, tf } from "../src";
import { gpt2ParameterCount } from "../src/memory/backendChoice";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";

const quiet = { warn: () => {}, onProgress: () => {} };
/** One turn of the event loop: what separates two notebook cells (finalizers may run). */
const nextCell = () => new Promise<void>((r) => setTimeout(r, 0));
const GB = 1e9;

describe("memory", function () {
  this.timeout(120_000);
  let dir: string;
  let tiny: string;
  let model: HookedTransformer;

  before(async () => {
    await initBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-memory-"));
    tiny = path.join(dir, "tiny");
    writeTinyCheckpoint(tiny, { nLayers: 2, nHeads: 4, dModel: 32, nCtx: 64 });
    model = await HookedTransformer.fromPretrained(tiny, quiet);
  });
  after(() => {
    setWasmTensorLimit(undefined);
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("re-running cells", () => {
    it("results and caches nobody disposed are freed once unreachable; the latest stays valid", async () => {
      await nextCell();
      collectUnreachable();
      const base = tf.memory().numTensors;
      // The chapter's cell, re-run 30 times: each run rebinds the same variables.
      let logits: tf.Tensor3D | undefined;
      let cache: ReturnType<HookedTransformer["runWithCache"]>[1] | undefined;
      for (let i = 0; i < 30; i++) {
        [logits, cache] = model.runWithCache("The capital of France is");
        await nextCell();
      }
      const perRun = 1 + new Set(cache!.values()).size; // resid_pre of one block is resid_post of the one before
      const freed = collectUnreachable();
      assert.equal(tf.memory().numTensors, base + perRun, `only the last run's ${perRun} tensors are left`);
      assert.ok(freed.tensors + (30 - 1) * perRun >= (30 - 1) * perRun, "freed something");
      assert.deepEqual(cache!.get("pattern", 1).shape, [1, 4, 6, 6], "the live cache still works");
      assert.equal(logits!.shape[1], 6);
      logits = undefined;
      cache = undefined;
      await nextCell();
      collectUnreachable();
      assert.equal(tf.memory().numTensors, base, "nothing left once the variables are gone");
    });

    it("an activation taken out of a cache stays valid after the cache is unreachable", async () => {
      let cache: ReturnType<HookedTransformer["runWithCache"]>[1] | undefined = model.runWithCache("Hello world")[1];
      const pattern = cache.get("pattern", 0);
      const values = pattern.arraySync();
      cache = undefined;
      await nextCell();
      collectUnreachable();
      assert.equal(pattern.isDisposed, false);
      assert.deepEqual(pattern.arraySync(), values);
      pattern.dispose();
    });

    it("explicit dispose() and tf.tidy keep working exactly", async () => {
      await nextCell();
      collectUnreachable();
      const base = tf.memory().numTensors;
      const [logits, cache] = model.runWithCache("Hello world");
      const values = new Set(cache.values()); // computes the lazy entries (and frees what they held)
      assert.equal(tf.memory().numTensors, base + 1 + values.size);
      cache.dispose();
      logits.dispose();
      assert.equal(tf.memory().numTensors, base);
      const total = tf.tidy(() => {
        const [l, c] = model.runWithCache("Hello world");
        return tf.add(tf.sum(l), tf.sum(c.get("resid_post", 1)));
      });
      assert.equal(tf.memory().numTensors, base + 1, "tf.tidy freed the run's tensors and kept its result");
      assert.ok(Number.isFinite(total.dataSync()[0]));
      total.dispose();
      const loss = model.forward("Hello world", { returnType: "loss" });
      loss.dispose();
      loss.dispose(); // a second dispose is a no-op, as in tfjs
      await nextCell();
      assert.deepEqual(collectUnreachable(), { tensors: 0, bytes: 0 }, "nothing is freed twice");
      assert.equal(tf.memory().numTensors, base);
    });
  });

  describe("load → dispose", () => {
    const variants: [string, Parameters<typeof writeTinyCheckpoint>[1], "processed" | "none" | Record<string, boolean>][] = [
      ["processed, tied lm_head", {}, "processed"],
      ["no processing", {}, "none"],
      ["untied lm_head with transformer. prefix", { keyPrefix: "transformer.", untiedLmHead: true }, "processed"],
      ["F16 weights", { dtype: "F16", maskDtype: "U8" }, "processed"],
      ["BF16 weights, no mask buffers", { dtype: "BF16", includeMaskBuffers: false }, "none"],
      ["foldLn only", {}, { foldLn: true, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false }],
      ["centring only", {}, { foldLn: false, centerWritingWeights: true, centerUnembed: true, foldValueBiases: false }],
      ["foldValueBiases only", {}, { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: true }],
    ];
    for (const [label, write, processing] of variants) {
      it(`${label}: tf.memory() as before, tensor bytes = 4 × parameters + 12·d_model·n_layers`, async () => {
        const d = path.join(dir, `variant-${label.replace(/\W+/g, "-")}`);
        writeTinyCheckpoint(d, { nLayers: 2, nHeads: 4, dModel: 16, nCtx: 16, ...write });
        await nextCell();
        collectUnreachable();
        const before = tf.memory();
        const m =
          processing === "none"
            ? await HookedTransformer.fromPretrainedNoProcessing(d, quiet)
            : await HookedTransformer.fromPretrained(d, { ...quiet, ...(processing === "processed" ? {} : processing) });
        const loaded = tf.memory();
        const flatBiases = 3 * m.cfg.dModel * m.cfg.nLayers * 4;
        assert.equal(loaded.numBytes - before.numBytes, 4 * m.numParameters() + flatBiases, "tensor bytes after load");
        // Derived views on request (TransformerLens layout, stacked) are freed by dispose too.
        void m.W_Q;
        void m.blocks[0].attn.W_K;
        m.namedParameters();
        m.forward("Hi").dispose();
        m.dispose();
        const after = tf.memory();
        assert.equal(after.numTensors, before.numTensors, "numTensors");
        assert.equal(after.numBytes, before.numBytes, "numBytes");
      });
    }

    it("re-running the load cell: a model nothing refers to any more is freed", async () => {
      await nextCell();
      collectUnreachable();
      const before = tf.memory();
      let m: HookedTransformer | undefined;
      for (let i = 0; i < 6; i++) {
        m = await HookedTransformer.fromPretrained(tiny, quiet);
        await nextCell();
      }
      collectUnreachable();
      const one = m!.numParameters() * 4 + 3 * m!.cfg.dModel * m!.cfg.nLayers * 4;
      assert.equal(tf.memory().numBytes - before.numBytes, one, "one model's weights left");
      assert.deepEqual(m!.forward("Hi").shape, [1, 2, 50257]);
      m = undefined;
      await nextCell();
      collectUnreachable();
      assert.equal(tf.memory().numTensors, before.numTensors);
    });

    it("a namesFilter predicate that throws leaks nothing", () => {
      const before = tf.memory().numTensors;
      assert.throws(
        () => model.runWithCache("Hello", { namesFilter: () => { throw new Error("bad filter"); } }),
        /bad filter/
      );
      assert.equal(tf.memory().numTensors, before);
    });
  });

  describe("re-entrant runs from hooks", () => {
    it("a hook that runs the model: each cache holds its own run's activations, no tensor shared", () => {
      const plain = model.runWithCache("The capital of France is");
      let inner: ReturnType<HookedTransformer["runWithCache"]> | undefined;
      let inside = false;
      const hp = model.hookDict.get("blocks.0.hook_resid_mid")!;
      const remove = hp.addHook(() => {
        if (inside) return;
        inside = true;
        try {
          inner = model.runWithCache("Hello world");
        } finally {
          inside = false;
        }
      });
      let outer: ReturnType<HookedTransformer["runWithCache"]>;
      try {
        outer = model.runWithCache("The capital of France is");
      } finally {
        remove();
      }
      assert.ok(inner, "the hook ran");
      const [outerLogits, outerCache] = outer;
      const [innerLogits, innerCache] = inner;
      assert.deepEqual(outerCache.keys(), plain[1].keys());
      assert.deepEqual(innerCache.keys(), plain[1].keys());
      for (const k of plain[1].keys()) {
        assert.deepEqual(outerCache.get(k).shape, plain[1].get(k).shape, `outer ${k}`);
        assert.notDeepEqual(innerCache.get(k).shape, plain[1].get(k).shape, `inner ${k} is the inner prompt's (3 tokens, not 6)`);
        assert.notEqual(outerCache.get(k), innerCache.get(k));
      }
      assert.deepEqual(outerLogits.arraySync(), plain[0].arraySync(), "outer run unchanged by the inner one");
      assert.deepEqual(outerCache.get("pattern", 1).arraySync(), plain[1].get("pattern", 1).arraySync());
      assert.equal(innerLogits.isDisposed, false, "the inner results outlive the outer block");
      assert.deepEqual(innerCache.get("resid_post", 1).shape, [1, 3, 32]);
      for (const t of [plain[0], outerLogits, innerLogits]) t.dispose();
      for (const c of [plain[1], outerCache, innerCache]) c.dispose();
    });

    it("a hook that calls the model unguarded is stopped with a clear error, leaving nothing", () => {
      const before = tf.memory().numTensors;
      const hp = model.hookDict.get("blocks.0.hook_resid_pre")!;
      const remove = hp.addHook(() => {
        model.forward("Hi").dispose();
      });
      try {
        assert.throws(() => model.forward("Hello"), /called from inside its own hooks 8 levels deep/);
      } finally {
        remove();
      }
      assert.equal(tf.memory().numTensors, before);
      model.forward("Hello").dispose();
    });
  });

  describe("out of memory on a small test-only limit", () => {
    it("an Error with what is held and what to do; the model and backend still work", async function () {
      if (tf.getBackend() !== "wasm") this.skip();
      await nextCell();
      collectUnreachable();
      const out = model.forward("Hello world");
      const expected = out.arraySync();
      out.dispose();
      const before = tf.memory().numTensors;
      const held = heldBytes();
      setWasmTensorLimit(held.total + 300_000);
      let error: Error | undefined;
      try {
        // 60 tokens: the cache (~1.0 MB) and logits (~12 MB) cannot fit in 0.3 MB.
        model.runWithCache(Array.from({ length: 59 }, () => "a").join(" "));
      } catch (err) {
        error = err as Error;
      } finally {
        setWasmTensorLimit(undefined);
      }
      assert.ok(error instanceof OutOfMemoryError, `expected an OutOfMemoryError, got ${error}`);
      for (const p of [/Out of memory on the wasm backend/, /model weights 13\.2 MB/, /activation caches/, /namesFilter/, /shorter prompt/, /cpu backend/, /set by setWasmTensorLimit/]) {
        assert.match(error.message, p);
      }
      assert.equal(tf.memory().numTensors, before, "nothing allocated by the refused run");
      assert.deepEqual(model.forward("Hello world").arraySync(), expected, "the next call works");
    });

    it("any allocation past the limit (the guard on the heap's malloc) is an Error; the next one works", async function () {
      if (tf.getBackend() !== "wasm") this.skip();
      await nextCell();
      collectUnreachable();
      const before = tf.memory().numTensors;
      setWasmTensorLimit(heldBytes().total + 4096);
      try {
        assert.throws(() => tf.tidy(() => tf.add(tf.zeros([4096]), 1)), (err: Error) => err instanceof OutOfMemoryError && /16\.4 kB more was needed/.test(err.message));
        assert.equal(tf.memory().numTensors, before);
        const small = tf.tidy(() => tf.add(tf.zeros([8]), 1));
        assert.deepEqual(Array.from(small.dataSync()), new Array(8).fill(1));
        small.dispose();
      } finally {
        setWasmTensorLimit(undefined);
      }
      const out = model.forward("Hello world");
      assert.deepEqual(out.shape, [1, 3, 50257]);
      out.dispose();
      assert.equal(tf.memory().numTensors, before);
    });

    it("loading on wasm when the model cannot fit fails at once, naming the numbers and the cpu backend", async function () {
      if (tf.getBackend() !== "wasm") this.skip();
      const before = tf.memory().numTensors;
      setWasmTensorLimit(8e6); // the tiny model's weights are 13 MB
      try {
        await assert.rejects(HookedTransformer.fromPretrained(tiny, { ...quiet, backend: "wasm" }), (err: Error) => {
          assert.match(err.message, /Cannot load tiny on the wasm backend \(the backend option "wasm"\): its float32 weights take 13\.2 MB/);
          assert.match(err.message, /Use the cpu backend/);
          return true;
        });
      } finally {
        setWasmTensorLimit(undefined);
      }
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.getBackend(), "wasm");
    });
  });

  it("no process listener of the wasm glue rethrows (a stray async error must not end a notebook kernel)", async function () {
    if (tf.getBackend() !== "wasm") this.skip();
    await initBackend();
    const sources = [...process.listeners("uncaughtException"), ...process.listeners("unhandledRejection")].map((l) => Function.prototype.toString.call(l));
    assert.deepEqual(sources.filter((src) => /ExitStatus|throw reason/.test(src)), []);
  });

  describe("the backend from the model's size", () => {
    const shape = (nLayers: number, dModel: number) => gpt2ParameterCount({ nLayers, dModel, dMlp: 4 * dModel, dVocab: 50257, nCtx: 1024 });
    const base = { tensorflowAvailable: false, availableRamBytes: 20 * GB, wasmFreeBytes: 4294901760 - 2 ** 28 };
    const table: [string, number, Partial<Parameters<typeof chooseBackend>[0]>, string][] = [
      ["gpt2", shape(12, 768), {}, "wasm"],
      ["gpt2-medium", shape(24, 1024), {}, "wasm"],
      ["gpt2-large", shape(36, 1280), {}, "cpu"],
      ["gpt2-xl", shape(48, 1600), {}, "cpu"],
      ["gpt2", shape(12, 768), { current: "cpu" }, "cpu"],
      ["gpt2-large", shape(36, 1280), { current: "wasm" }, "cpu"],
      ["gpt2-medium", shape(24, 1024), { wasmFreeBytes: 2 * GB }, "cpu"],
      ["gpt2-xl", shape(48, 1600), { tensorflowAvailable: true }, "tensorflow"],
      ["gpt2-large", shape(36, 1280), { requested: { backend: "cpu", source: "test" } }, "cpu"],
    ];
    for (const [name, parameters, extra, backend] of table) {
      it(`${name} (${(parameters / 1e6).toFixed(0)}M) ${JSON.stringify(extra)} → ${backend}`, () => {
        const choice = chooseBackend({ modelName: name, parameters, ...base, ...extra });
        assert.equal(choice.backend, backend);
        assert.ok(choice.reason.length > 10);
      });
    }
    it("TransformerLens's parameter counts for GPT-2 small and XL", () => {
      assert.equal(shape(12, 768), 163_049_041);
      assert.equal(shape(48, 1600), 1_637_762_257);
    });
    it("a model that cannot fit in RAM fails at once, with needed and available", () => {
      assert.throws(
        () => chooseBackend({ modelName: "gpt2-xl", parameters: shape(48, 1600), ...base, availableRamBytes: 4 * GB }),
        /Cannot load gpt2-xl: gpt2-xl has 1638M parameters: 6\.55 GB of float32 weights \+ 1\.07 GB working memory = 7\.62 GB, but this machine has 4\.00 GB of RAM available/
      );
    });
    it("an explicit wasm that cannot hold the weights fails at once; one that can is honoured, saying it is tight", () => {
      assert.throws(
        () => chooseBackend({ modelName: "gpt2-xl", parameters: shape(48, 1600), ...base, requested: { backend: "wasm", source: "$MECHINTERP_BACKEND=wasm" } }),
        /Cannot load gpt2-xl on the wasm backend \(\$MECHINTERP_BACKEND=wasm\): its float32 weights take 6\.55 GB \(7\.21 GB while loading\), more than the 4\.03 GB free in the wasm heap .*Use the cpu backend/
      );
      const large = chooseBackend({ modelName: "gpt2-large", parameters: shape(36, 1280), ...base, requested: { backend: "wasm", source: "test" } });
      assert.equal(large.backend, "wasm");
      assert.match(large.reason, /wasm as requested \(test\); only 0\.67 GB of the heap left for activations/);
    });
    it("initBackend({ model }) says which backend and why", async () => {
      const info = await initBackend({ model: tiny });
      assert.equal(info.backend, tf.getBackend());
      assert.match(info.reason, /tiny/);
    });
  });
});
