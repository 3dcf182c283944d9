/**
 * `node dist/scripts/bench/sae.js [--reps N]`: speed and memory of a GPT-2-small-sized SAE
 * (d_in 768, d_sae 24576, F32, 151 MB; random, in SAELens's layout), generated once into
 * .cache/bench/sae-gpt2-small-random/ (written to a temporary folder and renamed when complete).
 * Prints a Markdown table: load time, backend bytes and RSS growth of the load, and median
 * encode / decode / forward times for a 13-token prompt (the chapter's) and 128 tokens.
 */
import * as fs from "fs";
import * as path from "path";
import { initBackend, tf } from "../../src/backend";
import { SAE } from "../../src/sae";
import { writeSaeFixture } from "../../test/fixtures/sae";

const DIR = path.join(".cache", "bench", "sae-gpt2-small-random");

function ensureSae(): string {
  if (fs.existsSync(path.join(DIR, "sae_weights.safetensors"))) return DIR;
  const tmp = `${DIR}.tmp-${process.pid}`;
  writeSaeFixture(tmp, { dIn: 768, dSae: 24576, hookName: "blocks.8.hook_resid_pre" });
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.renameSync(tmp, DIR);
  return DIR;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(reps: number, fn: () => tf.Tensor): number {
  const warm = fn(); // warm-up
  warm.dataSync();
  warm.dispose();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const out = fn();
    out.dataSync();
    ms.push(performance.now() - t);
    out.dispose();
  }
  return median(ms);
}

async function main(): Promise<void> {
  const repsArg = process.argv.indexOf("--reps");
  const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 5;
  const dir = ensureSae();
  const info = await initBackend();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const sae = await SAE.fromDir(dir);
  const loadMs = performance.now() - t0;
  const rows: string[][] = [
    ["load (fromDir)", `${loadMs.toFixed(0)} ms`],
    ["backend memory after load", `${(tf.memory().numBytes / 1e6).toFixed(1)} MB`],
    ["RSS growth of the load", `${((process.memoryUsage().rss - rss0) / 1e6).toFixed(1)} MB`],
  ];
  for (const pos of [13, 128]) {
    const x = tf.randomNormal([1, pos, 768]) as tf.Tensor3D;
    const f = sae.encode(x);
    rows.push([`encode [1, ${pos}, 768] → [1, ${pos}, 24576]`, `${time(reps, () => sae.encode(x)).toFixed(1)} ms`]);
    rows.push([`decode [1, ${pos}, 24576] → [1, ${pos}, 768]`, `${time(reps, () => sae.decode(f)).toFixed(1)} ms`]);
    rows.push([`forward [1, ${pos}, 768]`, `${time(reps, () => sae.forward(x)).toFixed(1)} ms`]);
    tf.dispose([x, f]);
  }
  sae.dispose();
  console.log(`SAE d_in 768, d_sae 24576 on ${info.device}; medians of ${reps} runs\n`);
  console.log("| Measurement | value |\n| --- | --- |");
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
