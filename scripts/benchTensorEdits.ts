/**
 * `node dist/scripts/benchTensorEdits.js [--backend wasm|cpu|tensorflow] [--reps N]`: how long idx and
 * setIdx take on a [batch 1, pos 1024, head_index 12, d_head 64] activation (hook_z of GPT-2 small at
 * 1024 tokens), next to tf.add of two such tensors (one element-wise pass) as the yardstick.
 * Prints a Markdown table of medians; nothing is asserted (timings belong here, not in tests).
 */
import { tf, initBackend, type BackendName } from "../src/backend";
import { idx, setIdx } from "../src/tensor";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time in ms of `fn` (its result is read back, so the work is done, then disposed). */
function time(fn: () => tf.Tensor, reps: number): number {
  const warm = fn(); // warm-up (kernels compiled, buffers allocated)
  warm.dataSync();
  warm.dispose();
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    ms.push(performance.now() - t0);
    out.dispose();
  }
  return median(ms);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const backend = args.includes("--backend") ? (args[args.indexOf("--backend") + 1] as BackendName) : undefined;
  const reps = Number(args.includes("--reps") ? args[args.indexOf("--reps") + 1] : 20);
  await initBackend({ backend });
  const act = tf.randomNormal([1, 1024, 12, 64]);
  const other = tf.randomNormal([1, 1024, 12, 64]);
  const pos = tf.randomNormal([1, 1, 12, 64]);
  const rows: Array<[string, number]> = [
    ["tf.add(act, other) (yardstick: one pass)", time(() => tf.add(act, other), reps)],
    ["idx(act, \":\", \":\", 5) → [1, 1024, 64]", time(() => idx(act, ":", ":", 5), reps)],
    ["idx(act, \":\", \"::2\") → [1, 512, 12, 64]", time(() => idx(act, ":", "::2"), reps)],
    ["setIdx(act, [\":\", \":\", 5], 0) (ablate a head)", time(() => setIdx(act, [":", ":", 5], 0), reps)],
    ["setIdx(act, [\":\", 7], pos) (patch a position)", time(() => setIdx(act, [":", 7], pos), reps)],
    ["setIdx(act, [\":\", \":\", [1, 5, 9]], 0) (id list)", time(() => setIdx(act, [":", ":", [1, 5, 9]], 0), reps)],
    [
      "setIdx(act, [\":\", \":\", 5], idx(other, \":\", \":\", 5)) (patch a head)",
      time(() => tf.tidy(() => setIdx(act, [":", ":", 5], idx(other, ":", ":", 5))), reps),
    ],
  ];
  tf.dispose([act, other, pos]);
  console.log(`backend ${tf.getBackend()}, median of ${reps} runs, act [1, 1024, 12, 64] float32\n`);
  console.log("| operation | ms |\n| --- | ---: |");
  for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(2)} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
