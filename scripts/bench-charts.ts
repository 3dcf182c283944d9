/**
 * Chart bench: time and size of each output for chapter-sized charts and the largest inputs the
 * issue names (a 1024×1024 heatmap, the attention viewer for 12 heads × 1024 tokens). Printed,
 * never asserted.
 *
 *   npm run bench -- --charts        (or: npm run -s build && node dist/scripts/bench-charts.js)
 *   [--reps N]                       timed runs per row after one warm-up (default 3)
 *
 * Columns (wall-clock ms, and the process's CPU ms for the row): building the spec from ready arrays (reading the values, pictures, hover blocks), the SVG (vega in Node),
 * the PNG (resvg at 2× + encoding), and the bytes of the spec (JSON), the SVG and the PNG. The
 * viewer's weights are a causal softmax with a sink on the first token and a little noise (real
 * patterns compress about as well); the heatmap's a smooth field with noise (a hard case for PNG).
 */
import { attentionPatternsSpec, heatmapSpec, renderSvgSync, staticVariant, svgToPng, type VegaLiteSpec } from "../src/display";
import { createPlotlyExpress } from "../src/display/plotlyExpress";
import { createPyplot } from "../src/display/pyplot";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function attention(nHeads: number, n: number): number[][][] {
  const r = rng(7);
  return Array.from({ length: nHeads }, (_, h) =>
    Array.from({ length: n }, (_, q) => {
      const raw = Array.from({ length: n }, (_, k) => (k <= q ? Math.exp(-Math.abs(q - k - (h % 4))) + (k === 0 ? 3 : 0) + 0.05 * r() : 0));
      const sum = raw.reduce((a, b) => a + b, 0);
      return raw.map((v) => v / sum);
    })
  );
}

function field(n: number): number[][] {
  const r = rng(3);
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.sin(i / 37) * Math.cos(j / 23) + 0.1 * r()));
}

function chapterHeatmap(values: number[][]): VegaLiteSpec {
  let spec: VegaLiteSpec | undefined;
  const plt = createPyplot({ display: (c) => void (spec = c.spec) });
  const tokens = ["<|endoftext|>", "The", " capital", " of", " France", " is", " the", " capital"];
  plt.figure({ figsize: [8, 6] });
  plt.imshow(values, { cmap: "Blues" });
  plt.xticks([...tokens.keys()], tokens, { rotation: 45, ha: "right" });
  plt.yticks([...tokens.keys()], tokens);
  plt.colorbar({ label: "Attention weight" });
  plt.title("Attention Pattern: Layer 5, Head 0");
  plt.show();
  return spec as VegaLiteSpec;
}

function chapterSubplots(values: number[][]): VegaLiteSpec {
  let spec: VegaLiteSpec | undefined;
  const plt = createPyplot({ display: (c) => void (spec = c.spec) });
  const [, axes] = plt.subplots(1, 2, { figsize: [14, 5] });
  plt.colorbar(axes[0].imshow(values, { cmap: "Blues", aspect: "auto" }), { ax: axes[0] });
  plt.colorbar(axes[1].imshow(values, { cmap: "Reds", aspect: "auto" }), { ax: axes[1] });
  plt.show();
  return spec as VegaLiteSpec;
}

/** [name, inputs (made before timing), spec builder (timed)]. */
const ROWS: Array<[string, () => unknown, (input: any) => VegaLiteSpec]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
  ["chapter imshow 8×8 + colorbar", () => attention(1, 8)[0], chapterHeatmap],
  ["subplots 1×2, 12×12 each", () => field(12), chapterSubplots],
  ["px.bar 12 layers × 2", () => Array.from({ length: 24 }, (_, i) => ({ layer: i >> 1, component: i % 2 ? "mlp" : "attention", diff: Math.sin(i) })),
    (rows) => createPlotlyExpress().bar(rows, { x: "layer", y: "diff", color: "component", barmode: "group" }).toSpec()],
  ["viewer 12 heads × 8 tokens", () => attention(12, 8), (a) => attentionPatternsSpec({ tokens: tokens(8), attention: a })],
  ["heatmap 50×50 (last rect size)", () => field(50), (v) => heatmapSpec({ values: v, colorbar: true })],
  ["heatmap 256×256 (picture)", () => field(256), (v) => heatmapSpec({ values: v, colorbar: true })],
  ["heatmap 1024×1024 (picture)", () => field(1024), (v) => heatmapSpec({ values: v, vmin: -1, vmax: 1, colorbar: true })],
  ["viewer 12 heads × 120 tokens", () => attention(12, 120), (a) => attentionPatternsSpec({ tokens: tokens(120), attention: a })],
  ["viewer 12 heads × 1024 tokens", () => attention(12, 1024), (a) => attentionPatternsSpec({ tokens: tokens(1024), attention: a })],
];

function tokens(n: number): string[] {
  return Array.from({ length: n }, (_, i) => ` t${i}`);
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} kB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function runChartBench(reps = 3): void {
  const header = ["chart", "spec ms", "SVG ms", "PNG ms", "total ms", "CPU ms", "spec JSON", "SVG", "PNG (2×)"];
  const lines: string[][] = [];
  for (const [name, input, build] of ROWS) {
    const data = input();
    const times: number[][] = [];
    let sizes: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const cpu = process.cpuUsage();
      let t = process.hrtime.bigint();
      const spec = build(data);
      const tSpec = ms(t);
      t = process.hrtime.bigint();
      const svg = renderSvgSync(staticVariant(spec));
      const tSvg = ms(t);
      t = process.hrtime.bigint();
      const png = svgToPng(svg).png;
      const tPng = ms(t);
      const used = process.cpuUsage(cpu);
      if (i > 0) times.push([tSpec, tSvg, tPng, (used.user + used.system) / 1000]); // run 0 warms up
      sizes = [JSON.stringify(spec).length, svg.length, png.length];
    }
    const [s, v, p, c] = [0, 1, 2, 3].map((k) => median(times.map((t) => t[k])));
    lines.push([name, s.toFixed(0), v.toFixed(0), p.toFixed(0), (s + v + p).toFixed(0), c.toFixed(0), ...sizes.map(kb)]);
    process.stderr.write(`  ${name}: done\n`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  console.log(row(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const l of lines) console.log(row(l));
  const load = require("os").loadavg()[0].toFixed(1); // eslint-disable-line @typescript-eslint/no-var-requires
  console.log(`\nmedian of ${reps} runs after a warm-up; Node ${process.version}, ${process.platform}-${process.arch}, ` +
    `${require("os").cpus().length} cores, load average ${load}. CPU ms = this process's CPU time for the whole row (spec + SVG + PNG): ` +
    "on a busy machine it is the better guide to what an idle one takes.");
}

if (require.main === module) {
  const i = process.argv.indexOf("--reps");
  const reps = i >= 0 ? Number(process.argv[i + 1]) : 3;
  if (!Number.isInteger(reps) || reps < 1) {
    console.error("--reps must be a whole number ≥ 1.");
    process.exit(2);
  }
  runChartBench(reps);
}
