/**
 * `node dist/scripts/benchGenerate.js [--tokens N] [--prompt P] [--backend wasm|cpu|tensorflow]`:
 * generation speed (new tokens per second) of a GPT-2-small-shaped random model, with and without
 * the key/value cache, greedy, one prompt. Reuses the benchmark's checkpoint
 * (.cache/bench/gpt2-small-random/, generated once). Prints a table; asserts nothing.
 */
import * as path from "path";
import { HookedTransformer, tf } from "../src";
import type { BackendName } from "../src/backend";
import { ensureBenchCheckpoint } from "./bench/checkpoint";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const newTokens = Number(arg("tokens", "20"));
  const promptLen = Number(arg("prompt", "16"));
  const backend = process.argv.includes("--backend") ? (arg("backend", "wasm") as BackendName) : undefined;
  const root = path.join(__dirname, "..", "..", ".cache", "bench");
  const ck = ensureBenchCheckpoint(root, (line) => console.error(line));
  const model = await HookedTransformer.fromPretrained(ck.dir, { backend, onProgress: () => {} });
  console.log(`backend: ${model.backendInfo.backend} — ${model.backendInfo.device}; prompt ${promptLen} tokens, ${newTokens} new tokens, greedy`);
  const prompt = [[50256, ...Array.from({ length: promptLen - 1 }, (_, i) => 1000 + 37 * i)]];
  const rows: [string, number][] = [];
  for (const usePastKvCache of [true, false]) {
    const run = (n: number) => (model.generate(prompt, { maxNewTokens: n, doSample: false, stopAtEos: false, usePastKvCache, verbose: false }) as tf.Tensor).dispose();
    run(2); // warm-up
    const start = process.hrtime.bigint();
    run(newTokens);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rows.push([usePastKvCache ? "with the KV cache" : "without (whole sequence each step)", newTokens / seconds]);
  }
  console.log("| generation | tokens/s |\n|---|---|");
  for (const [name, rate] of rows) console.log(`| ${name} | ${rate.toFixed(2)} |`);
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
