/**
 * One backend's benchmark, run by scripts/bench.ts in a fresh Node process so that load time and
 * peak RSS belong to this backend alone:
 *
 *   node --expose-gc dist/scripts/bench/worker.js '<WorkerArgs as JSON>'
 *
 * The orchestrator runs it three times per backend, each a fresh process measuring one load: without
 * the processed-weights cache ("process"), the first load that writes it ("writeCache"), then a load
 * from it ("cached"), which alone goes on to the passes.
 *
 * Order matters for the memory figures: load → peak RSS after load → runWithCache at 6, 128, 1024
 * tokens → peak RSS after runWithCache 1024 (TransformerLens's peak is measured at this point) →
 * forward 1024 → runWithCache 1024 with one hook → matmul ceiling → peak RSS at the end.
 *
 * Each timed pass: build the input [1, pos] int32 outside the clock, start the clock, run, read the
 * last position's logits back with dataSync (this waits for every kernel, also on a GPU, without
 * timing a 200 MB copy of all logits that TransformerLens does not make), stop the clock, then
 * dispose logits and cache outside the clock. Progress goes to stderr; the result to `outFile`.
 */
import * as fs from "fs";
import * as path from "path";
import type { HookedTransformer } from "../../src/model/HookedTransformer";
import type { BackendName } from "../../src/backend";
import { Rng } from "../../test/fixtures/checkpoint";
import { FILTERED_HOOK, MEASUREMENTS, MeasurementId, MeasurementSpec } from "./plan";
import { Cell, WorkerArgs, WorkerResult, median, peakRssGb } from "./results";

type Lib = typeof import("../../src/index");

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function log(backend: string, line: string): void {
  process.stderr.write(`  [${backend}] ${line}\n`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

/** Random token ids [1, pos] int32 in [0, dVocab), the same for every backend (seeded). Owned by the caller. */
function randomTokens(lib: Lib, dVocab: number, pos: number, seed: number): import("@tensorflow/tfjs").Tensor2D {
  const rng = new Rng(seed + pos);
  const ids = new Int32Array(pos);
  for (let i = 0; i < pos; i++) ids[i] = Math.floor(rng.uniform() * dVocab);
  return lib.tf.tensor2d(ids, [1, pos], "int32");
}

/** Runs `once` warmup times, then up to reps times (at least once, fewer past budgetS); `once` returns its seconds. */
function repeat(label: string, backend: string, warmup: number, reps: number, budgetS: number, once: () => number): Cell {
  for (let i = 0; i < warmup; i++) {
    const s = once();
    gc();
    log(backend, `${label}: warm-up ${s.toFixed(3)} s`);
  }
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < reps && (samples.length === 0 || spent < budgetS)) {
    const s = once();
    samples.push(s);
    spent += s;
    gc();
  }
  const value = median(samples);
  log(backend, `${label}: median ${value.toFixed(3)} s of [${samples.map((s) => s.toFixed(3)).join(", ")}]`);
  return { value, samples, warmup };
}

/** Seconds of one pass of `spec` on `tokens`, work included up to reading logits back. */
function timePass(lib: Lib, model: HookedTransformer, spec: MeasurementSpec, tokens: import("@tensorflow/tfjs").Tensor2D): number {
  const tf = lib.tf;
  const pos = tokens.shape[1];
  const t0 = performance.now();
  let logits: import("@tensorflow/tfjs").Tensor3D;
  let cache: { dispose(): void } | undefined;
  if (spec.pass!.kind === "forward") {
    logits = model.forward(tokens);
  } else {
    const filter = spec.pass!.kind === "runWithCacheFiltered" ? { namesFilter: FILTERED_HOOK } : {};
    [logits, cache] = model.runWithCache(tokens, filter);
  }
  const last = tf.slice(logits, [0, pos - 1, 0], [1, 1, -1]); // [1, 1, d_vocab]
  last.dataSync();
  const seconds = (performance.now() - t0) / 1000;
  last.dispose();
  logits.dispose();
  cache?.dispose();
  return seconds;
}

/** GFLOP/s of tf.matMul [1024, 768] x [768, 3072] (an MLP-in product at 1024 tokens): the backend's local ceiling. */
function matmulCeiling(lib: Lib, backend: string, reps: number, budgetS: number): Cell {
  const tf = lib.tf;
  const [m, k, n] = [1024, 768, 3072];
  const a = tf.randomNormal([m, k]) as import("@tensorflow/tfjs").Tensor2D;
  const b = tf.randomNormal([k, n]) as import("@tensorflow/tfjs").Tensor2D;
  const once = (): number => {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    const corner = tf.slice(c, [0, 0], [1, 1]);
    corner.dataSync();
    const s = (performance.now() - t0) / 1000;
    corner.dispose();
    c.dispose();
    return s;
  };
  try {
    const warm = once();
    log(backend, `matmul: warm-up ${warm.toFixed(3)} s`);
    const seconds: number[] = [];
    const start = performance.now();
    while (seconds.length < reps && (seconds.length === 0 || (performance.now() - start) / 1000 < budgetS)) seconds.push(once());
    const samples = seconds.map((s) => (2 * m * k * n) / s / 1e9);
    const value = median(samples);
    log(backend, `matmul: ${value.toFixed(1)} GFLOP/s (median of ${samples.length})`);
    return { value, samples, warmup: 1 };
  } finally {
    a.dispose();
    b.dispose();
  }
}

function wasmFlags(lib: Lib): Record<string, boolean | number | string> {
  const flags: Record<string, boolean | number | string> = {};
  const env = lib.tf.env();
  for (const name of ["WASM_HAS_SIMD_SUPPORT", "WASM_HAS_MULTITHREAD_SUPPORT"]) {
    try {
      flags[name] = env.getBool(name);
    } catch {
      // flag not registered on this backend
    }
  }
  return flags;
}

/** Names, sizes and mtimes of the files in the processed cache folder ("" when it has none). */
function cacheStamp(dir: string): string {
  if (!fs.existsSync(dir)) return "";
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join(",");
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "null") as WorkerArgs | null;
  if (!args || !args.backend || !args.checkpointDir || !args.outFile || !args.load || !args.processedCacheDir) {
    throw new Error("bench worker: expected one JSON argument {backend, checkpointDir, outFile, plan, seed, load, processedCacheDir}; run `npm run bench` instead.");
  }
  const { backend, plan } = args;
  const cells: Partial<Record<MeasurementId, Cell>> = {};

  let t0 = performance.now();
  const lib: Lib = await import("../../src/index");
  const importS = (performance.now() - t0) / 1000;
  log(backend, `import: ${importS.toFixed(2)} s`);

  const loadId = ({ process: "loadProcess", writeCache: "loadWriteCache", cached: "load" } as const)[args.load];
  const cacheBefore = cacheStamp(args.processedCacheDir);
  t0 = performance.now();
  const model = await lib.HookedTransformer.fromPretrained(args.checkpointDir, {
    backend: backend as BackendName,
    processedCache: args.load !== "process",
    processedCacheDir: args.processedCacheDir,
  });
  const loadS = (performance.now() - t0) / 1000;
  cells[loadId] = { value: loadS, samples: [loadS], warmup: 0 };
  const rss = peakRssGb();
  log(backend, `fromPretrained (${args.load}): ${loadS.toFixed(2)} s, peak RSS ${rss.toFixed(2)} GB, ${model.backendInfo.device}`);
  const base = {
    backend: model.backendInfo.backend,
    device: model.backendInfo.device,
    tfjsVersion: lib.tf.version.tfjs,
    flags: backend === "wasm" ? wasmFlags(lib) : {},
    importS,
    numParameters: model.numParameters(),
  };
  const { cfg } = model;
  const cfgOut = { nLayers: cfg.nLayers, nHeads: cfg.nHeads, dModel: cfg.dModel, dMlp: cfg.dMlp, dVocab: cfg.dVocab, nCtx: cfg.nCtx };
  if (args.load !== "cached") {
    const result: WorkerResult = { ...base, cfg: cfgOut, cells, tensorsAfterLoad: 0, tensorsAtEnd: 0 };
    fs.writeFileSync(args.outFile, JSON.stringify(result, null, 2));
    return;
  }
  const cacheHit = cacheBefore !== "" && cacheBefore === cacheStamp(args.processedCacheDir);
  if (!cacheHit) log(backend, `the processed cache was not read as written by the first load (before: "${cacheBefore}", after: "${cacheStamp(args.processedCacheDir)}")`);
  cells.rssAfterLoad = { value: rss };
  const tensorsAfterLoad = lib.tf.memory().numTensors;

  /** Cells the gate left out, with the reason printed in their place. */
  const gated = new Map<MeasurementId, string>();
  for (const spec of MEASUREMENTS) {
    const skipped = gated.get(spec.id);
    if (skipped) {
      cells[spec.id] = { skipped };
      continue;
    }
    if (spec.id === "rssAfterRunWithCache1024") cells[spec.id] = { value: peakRssGb() };
    if (!spec.pass) continue;
    const tokens = randomTokens(lib, cfg.dVocab, spec.pass.tokens, args.seed);
    try {
      cells[spec.id] = repeat(spec.label, backend, plan.warmup, plan.reps, plan.passBudgetS, () => timePass(lib, model, spec, tokens));
    } catch (err) {
      cells[spec.id] = { error: errorText(err) };
      log(backend, `${spec.label}: FAILED ${errorText(err)}`);
    } finally {
      tokens.dispose();
    }
    const seconds = cells[spec.id]?.value;
    if (plan.gate && plan.gate.on === spec.id && seconds !== undefined && seconds > plan.gate.maxS) {
      const reason =
        `skipped on ${backend}: ${spec.label} took ${seconds.toFixed(1)} s (> ${plan.gate.maxS} s), ` +
        `so 1024-token passes would take minutes each; \`npm run bench -- --full-cpu\` runs them`;
      for (const id of plan.gate.skip) gated.set(id, reason);
      log(backend, reason);
    }
  }

  try {
    cells.matmulGflops = matmulCeiling(lib, backend, plan.matmul.reps, plan.matmul.budgetS);
  } catch (err) {
    cells.matmulGflops = { error: errorText(err) };
  }
  const tensorsAtEnd = lib.tf.memory().numTensors;
  cells.rssEnd = { value: peakRssGb() };

  const result: WorkerResult = {
    ...base,
    cfg: cfgOut,
    cells,
    cacheHit,
    tensorsAfterLoad,
    tensorsAtEnd,
  };
  fs.writeFileSync(args.outFile, JSON.stringify(result, null, 2));
}

main().catch((err) => {
  process.stderr.write(`bench worker failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
