/**
 * The processed-weights cache (src/weights/processedCache.ts, loadProcessed.ts): a load from it
 * gives the same parameters bit for bit as processing; an entry goes stale when the source file, its
 * config.json or the processing options change; writes are atomic and a failed write only warns;
 * nothing leaks. Logits of a model loaded from the cache are checked against the float64 reference.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookedTransformer, tf } from "../src";
import { initBackend } from "../src/backend";
import { ModelSource } from "../src/weights/loadPretrained";
import { LoadedProcessed, loadProcessedCheckpoint, processedCacheEnabled } from "../src/weights/loadProcessed";
import { PROCESSED_CACHE_ENV_VAR } from "../src/weights/processedCache";
import { ProcessWeightsOptions } from "../src/weights/processWeights";
import { CheckpointOptions, writeTinyCheckpoint } from "./fixtures/checkpoint";
import { compareArrays, describeComparison } from "./reference/compare";
import { logSoftmax, naiveForward } from "./reference/naiveGpt2";
import { readSafetensorsF64 } from "./reference/safetensorsRead";

const SHAPE = { nLayers: 2, nHeads: 4, dModel: 32, nCtx: 16, dVocab: 300 };
const TOKENS = [[5, 17, 250, 3, 3, 99, 0, 12]];
const NO_PROCESSING: ProcessWeightsOptions = { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false };

function source(dir: string): ModelSource {
  return { modelName: "tiny", configPath: path.join(dir, "config.json"), weightsPath: path.join(dir, "model.safetensors") };
}

/** Every parameter's float32 bits, by name. */
function bits(sd: Map<string, tf.Tensor>): Map<string, { shape: number[]; words: number[] }> {
  return new Map([...sd].map(([k, t]) => [k, { shape: [...t.shape], words: Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer)) }]));
}

function disposeAll(r: LoadedProcessed): void {
  tf.dispose([...r.stateDict.values()]);
}

describe("processed-weights cache", function () {
  this.timeout(120_000);
  let root: string;
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const savedEnv = process.env[PROCESSED_CACHE_ENV_VAR];

  before(async () => {
    await initBackend();
    delete process.env[PROCESSED_CACHE_ENV_VAR];
    root = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-pcache-"));
  });
  after(() => {
    if (savedEnv !== undefined) process.env[PROCESSED_CACHE_ENV_VAR] = savedEnv;
    fs.rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    warnings.length = 0;
  });

  const variants: [string, CheckpointOptions, ProcessWeightsOptions][] = [
    ["default processing, tied lm_head", {}, {}],
    ["default processing, untied lm_head", { untiedLmHead: true, keyPrefix: "transformer." }, {}],
    ["foldLn off, the rest on", {}, { foldLn: false }],
    ["no processing", {}, NO_PROCESSING],
    ["F16 checkpoint", { dtype: "F16" }, {}],
  ];
  for (const [label, ckOptions, options] of variants) {
    it(`${label}: written on the first load, read on the second, the same bits both times, no tensor leaked`, () => {
      const dir = path.join(root, label.replace(/\W+/g, "-"));
      writeTinyCheckpoint(dir, { ...SHAPE, ...ckOptions });
      const cacheDir = path.join(dir, "cache");
      const before = tf.memory().numTensors;
      const plain = loadProcessedCheckpoint(source(dir), { ...options, processedCache: false, warn });
      const first = loadProcessedCheckpoint(source(dir), { ...options, processedCache: true, processedCacheDir: cacheDir, warn });
      const second = loadProcessedCheckpoint(source(dir), { ...options, processedCache: true, processedCacheDir: cacheDir, warn });
      try {
        assert.equal(plain.cache.status, "off");
        assert.equal(first.cache.status, "written");
        assert.equal(second.cache.status, "hit");
        assert.deepEqual(second.cfg, plain.cfg);
        assert.deepEqual(first.cfg, plain.cfg);
        const want = bits(plain.stateDict);
        assert.deepEqual([...second.stateDict.keys()].sort(), [...want.keys()].sort());
        assert.deepEqual(bits(second.stateDict), want);
        assert.deepEqual(bits(first.stateDict), want);
        assert.deepEqual(fs.readdirSync(cacheDir).filter((f) => f.includes(".tmp-")), [], "temporary files left behind");
        assert.deepEqual(warnings, []);
      } finally {
        [plain, first, second].forEach(disposeAll);
      }
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    });
  }

  it("a model loaded from the cache gives the reference's log-probabilities (float64, plain loops)", async () => {
    const dir = path.join(root, "reference");
    const ck = writeTinyCheckpoint(dir, { ...SHAPE, seed: 7 });
    const cacheDir = path.join(dir, "cache");
    (await HookedTransformer.fromPretrained(dir, { processedCache: true, processedCacheDir: cacheDir, warn })).dispose();
    const stamp = fs.readdirSync(cacheDir).map((f) => `${f}:${fs.statSync(path.join(cacheDir, f)).mtimeMs}`);
    const model = await HookedTransformer.fromPretrained(dir, { processedCache: true, processedCacheDir: cacheDir, warn });
    try {
      assert.deepEqual(fs.readdirSync(cacheDir).map((f) => `${f}:${fs.statSync(path.join(cacheDir, f)).mtimeMs}`), stamp, "the second load rewrote the entry");
      const logits = model.forward(TOKENS);
      const logProbs = tf.logSoftmax(logits);
      // Processing shifts each position's logits by a constant: log-probabilities are unchanged.
      const expected = logSoftmax(naiveForward(readSafetensorsF64(ck.weightsPath), ck.config, TOKENS).logits);
      const c = compareArrays(logProbs.dataSync(), expected.data);
      tf.dispose([logits, logProbs]);
      assert.ok(c.nonFiniteMismatches === 0 && c.relative <= 1e-5, describeComparison("log-probs", c));
    } finally {
      model.dispose();
    }
  });

  describe("an entry is stale when its source changes", () => {
    const changes: [string, (dir: string) => void, RegExp][] = [
      ["the weights file's mtime", (d) => fs.utimesSync(path.join(d, "model.safetensors"), new Date(), new Date(Date.now() - 3600_000)), /mtimeMs/],
      [
        "the weights file's bytes and size (re-exported)",
        (d) => writeTinyCheckpoint(d, { ...SHAPE, seed: 99, includeMaskBuffers: false }),
        /size|mtimeMs|ino/,
      ],
      ["config.json", (d) => fs.appendFileSync(path.join(d, "config.json"), "\n"), /config/],
      ["the entry was truncated", (d) => truncateEntry(path.join(d, "cache")), /Invalid safetensors|ended/],
    ];
    for (const [label, change, why] of changes) {
      it(`${label}: processed again and rewritten, with the new values`, () => {
        const dir = path.join(root, "stale-" + label.replace(/\W+/g, "-"));
        writeTinyCheckpoint(dir, { ...SHAPE });
        const opts = { processedCache: true, processedCacheDir: path.join(dir, "cache"), warn };
        disposeAll(loadProcessedCheckpoint(source(dir), opts));
        change(dir);
        const before = tf.memory().numTensors;
        const again = loadProcessedCheckpoint(source(dir), opts);
        const plain = loadProcessedCheckpoint(source(dir), { processedCache: false, warn });
        const hit = loadProcessedCheckpoint(source(dir), opts);
        try {
          assert.equal(again.cache.status, "written");
          assert.match((again.cache as { miss: string }).miss, why);
          assert.deepEqual(bits(again.stateDict), bits(plain.stateDict));
          assert.equal(hit.cache.status, "hit");
          assert.equal(fs.readdirSync(path.join(dir, "cache")).length, 1, "one entry per source and options");
        } finally {
          [again, plain, hit].forEach(disposeAll);
        }
        assert.equal(tf.memory().numTensors, before);
      });
    }

    it("other processing options are another entry; both stay usable", () => {
      const dir = path.join(root, "options");
      writeTinyCheckpoint(dir, { ...SHAPE });
      const cacheDir = path.join(dir, "cache");
      const a = loadProcessedCheckpoint(source(dir), { processedCache: true, processedCacheDir: cacheDir, warn });
      const b = loadProcessedCheckpoint(source(dir), { ...NO_PROCESSING, processedCache: true, processedCacheDir: cacheDir, warn });
      const a2 = loadProcessedCheckpoint(source(dir), { processedCache: true, processedCacheDir: cacheDir, warn });
      const b2 = loadProcessedCheckpoint(source(dir), { ...NO_PROCESSING, processedCache: true, processedCacheDir: cacheDir, warn });
      try {
        assert.deepEqual([a.cache.status, b.cache.status, a2.cache.status, b2.cache.status], ["written", "written", "hit", "hit"]);
        assert.equal(fs.readdirSync(cacheDir).length, 2);
        assert.ok(a2.stateDict.has("blocks.0.attn.W_Q") && !a2.stateDict.has("blocks.0.ln1.w"));
        assert.ok(b2.stateDict.has("blocks.0.ln1.w"));
        assert.deepEqual(bits(b2.stateDict), bits(b.stateDict));
      } finally {
        [a, b, a2, b2].forEach(disposeAll);
      }
    });
  });

  it("a temporary file left by a writer that is gone is removed by the next write; a live writer's is left alone", () => {
    const dir = path.join(root, "leftover");
    writeTinyCheckpoint(dir, { ...SHAPE });
    const cacheDir = path.join(dir, "cache");
    const first = loadProcessedCheckpoint(source(dir), { processedCache: true, processedCacheDir: cacheDir, warn });
    disposeAll(first);
    const entry = (first.cache as { file: string }).file;
    // A writer that is gone (no such pid: above Linux's largest pid_max) and one still running (this process's parent).
    fs.writeFileSync(`${entry}.tmp-4194305-deadbeef`, "half an entry");
    fs.writeFileSync(`${entry}.tmp-${process.ppid}-cafef00d`, "another process's write in progress");
    fs.rmSync(entry);
    const again = loadProcessedCheckpoint(source(dir), { processedCache: true, processedCacheDir: cacheDir, warn });
    disposeAll(again);
    assert.equal(again.cache.status, "written");
    assert.deepEqual(fs.readdirSync(cacheDir).sort(), [path.basename(entry), `${path.basename(entry)}.tmp-${process.ppid}-cafef00d`]);
  });

  it("a cache folder that cannot be written: one warning naming it, the model loads, nothing left behind", () => {
    const dir = path.join(root, "unwritable");
    writeTinyCheckpoint(dir, { ...SHAPE });
    const blocker = path.join(dir, "not-a-folder");
    fs.writeFileSync(blocker, "a file where the cache folder would go");
    const before = tf.memory().numTensors;
    const r = loadProcessedCheckpoint(source(dir), { processedCache: true, processedCacheDir: path.join(blocker, "cache"), warn });
    try {
      assert.equal(r.cache.status, "write failed");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /could not write the processed-weights cache .*not-a-folder.*processedCache: false/);
      assert.equal(r.stateDict.size, 2 + 2 * 12 + 2);
    } finally {
      disposeAll(r);
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it("on for hub downloads and off for local folders unless the option or $MECHINTERP_PROCESSED_CACHE says otherwise", () => {
    const hub: ModelSource = { ...source("/x"), fromHub: true };
    const local = source("/x");
    const table: [ModelSource, boolean | undefined, string | undefined, boolean][] = [
      [hub, undefined, undefined, true],
      [local, undefined, undefined, false],
      [hub, undefined, "0", false],
      [local, undefined, "1", true],
      [hub, true, "0", true],
      [local, false, "1", false],
      [local, undefined, "true", true],
      [hub, undefined, "false", false],
    ];
    for (const [src, option, env, expected] of table) {
      const got = processedCacheEnabled(src, { processedCache: option }, env === undefined ? {} : { [PROCESSED_CACHE_ENV_VAR]: env });
      assert.equal(got, expected, `fromHub ${src.fromHub}, option ${option}, env ${env}`);
    }
  });
});

/** Cuts the only entry in `cacheDir` to half its length (mtime kept as the source's check does not look at it). */
function truncateEntry(cacheDir: string): void {
  const [f] = fs.readdirSync(cacheDir);
  const p = path.join(cacheDir, f);
  fs.truncateSync(p, Math.floor(fs.statSync(p).size / 2));
}
