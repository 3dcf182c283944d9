/**
 * One model size for `npm run bench -- --memory`, in a fresh Node process (so peak RSS is this
 * model's): load with default settings (backend chosen from the size), then tensor bytes against
 * 4 × parameters, a runWithCache at 32 tokens (one warm-up, then timed), dispose, and what is left.
 *
 *   node dist/scripts/bench/memoryWorker.js '{"checkpointDir": "...", "outFile": "..."}'
 */
import * as fs from "fs";
import { peakRssGb } from "./results";

export interface MemoryWorkerResult {
  backend: string;
  reason: string;
  parameters: number;
  loadS: number;
  tensorBytes: number;
  peakRssAfterLoadGb: number;
  runWithCache32S: number;
  peakRssGb: number;
  tensorsAfterDispose: number;
  bytesAfterDispose: number;
}

export interface HoldResult {
  backend: string;
  /** runWithCache results at 512 tokens held in variables before one was refused. */
  held: number;
  error: string;
  heldGb: number;
  forwardAfter: boolean;
  tensorsBefore: number;
  tensorsAfterDispose: number;
}

/** Keeps 512-token caches (as variables would) until the heap refuses one; then the model must still work. */
async function hold(lib: typeof import("../../src/index"), checkpointDir: string): Promise<HoldResult> {
  const { tf, HookedTransformer } = lib;
  const model = await HookedTransformer.fromPretrained(checkpointDir, { warn: () => {} });
  const tensorsBefore = tf.memory().numTensors;
  const tokens = tf.tensor2d([Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 50000)], [1, 512], "int32");
  const kept: { dispose(): void }[] = [];
  let error = "";
  let heldGb = 0;
  for (let i = 0; i < 20 && !error; i++) {
    try {
      const [logits, cache] = model.runWithCache(tokens);
      kept.push(logits, cache);
    } catch (err) {
      error = `${(err as Error).name}: ${(err as Error).message}`;
      heldGb = lib.heldBytes().total / 1e9;
    }
  }
  kept.forEach((k) => k.dispose());
  const check = model.forward("Hello world");
  const forwardAfter = check.shape[2] === 50257;
  check.dispose();
  tokens.dispose();
  return { backend: model.backendInfo.backend, held: kept.length / 2, error, heldGb, forwardAfter, tensorsBefore, tensorsAfterDispose: tf.memory().numTensors };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "null") as { checkpointDir: string; outFile: string; mode?: "hold" } | null;
  if (!args?.checkpointDir || !args.outFile) throw new Error("memory worker: expected {checkpointDir, outFile}; run `npm run bench -- --memory`.");
  const lib = await import("../../src/index");
  if (args.mode === "hold") {
    fs.writeFileSync(args.outFile, JSON.stringify(await hold(lib, args.checkpointDir), null, 2));
    return;
  }
  const { tf, HookedTransformer } = lib;
  const t0 = performance.now();
  const model = await HookedTransformer.fromPretrained(args.checkpointDir, { warn: () => {} });
  const loadS = (performance.now() - t0) / 1000;
  const tensorBytes = tf.memory().numBytes;
  const peakRssAfterLoadGb = peakRssGb();
  process.stderr.write(`  [memory] ${model.cfg.modelName}: ${model.backendInfo.backend} (${model.backendInfo.reason}); load ${loadS.toFixed(1)} s\n`);
  const tokens = tf.tensor2d([Array.from({ length: 32 }, (_, i) => (i * 7919 + 13) % 50000)], [1, 32], "int32");
  const once = (): number => {
    const s = performance.now();
    const [logits, cache] = model.runWithCache(tokens);
    logits.dataSync();
    const seconds = (performance.now() - s) / 1000;
    logits.dispose();
    cache.dispose();
    return seconds;
  };
  once();
  const runWithCache32S = once();
  tokens.dispose();
  const result: MemoryWorkerResult = {
    backend: model.backendInfo.backend,
    reason: model.backendInfo.reason,
    parameters: model.numParameters(),
    loadS,
    tensorBytes,
    peakRssAfterLoadGb,
    runWithCache32S,
    peakRssGb: peakRssGb(),
    tensorsAfterDispose: 0,
    bytesAfterDispose: 0,
  };
  model.dispose();
  result.tensorsAfterDispose = tf.memory().numTensors;
  result.bytesAfterDispose = tf.memory().numBytes;
  fs.writeFileSync(args.outFile, JSON.stringify(result, null, 2));
}

main().catch((err) => {
  process.stderr.write(`memory worker failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
