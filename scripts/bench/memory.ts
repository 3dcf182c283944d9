/**
 * `npm run bench -- --memory` (issue 10): memory under notebook habits, printed as tables.
 *
 *   npm run bench -- --memory [--sizes small,medium,large,xl] [--runs 200] [--rerun-tokens 6,512]
 *
 * 1. Re-running the chapter's runWithCache cell under the real tslab kernel, on the GPT-2-small-shaped
 *    bench checkpoint, default settings, nothing disposed: tensor memory after 1, 10, 100 and 200 runs
 *    at 6 and at 512 tokens (test/helpers/rerunNotebook.ts).
 * 2. Holding 512-token results in variables until the wasm heap refuses one: the error text, and
 *    the model still works after disposing them.
 * 3. GPT-2 medium-, large- and XL-shaped random checkpoints (F32; generated once under
 *    $TMPDIR/mechinterp-bench-sizes/, 1.6 / 3.4 / 6.6 GB), each loaded with default settings in a
 *    fresh process (scripts/bench/memoryWorker.ts): backend chosen and why, load time, tensor bytes
 *    against 4 × parameters, peak RSS, runWithCache time at 32 tokens, and what dispose leaves.
 * The XL case needs ~9 GB of RAM; it runs last.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeGpt2SmallShapedCheckpoint } from "../../test/fixtures/checkpoint";
import { runRerunNotebook } from "../../test/helpers/rerunNotebook";
import type { HoldResult, MemoryWorkerResult } from "./memoryWorker";

export interface MemoryFlags {
  /** Also hold 512-token caches until the wasm heap refuses one (default on; --no-hold skips). */
  hold: boolean;
  sizes: string[];
  runs: number;
  rerunTokens: number[];
}

const SHAPES: Record<string, { nLayers: number; nHeads: number; dModel: number }> = {
  small: { nLayers: 12, nHeads: 12, dModel: 768 },
  medium: { nLayers: 24, nHeads: 16, dModel: 1024 },
  large: { nLayers: 36, nHeads: 20, dModel: 1280 },
  xl: { nLayers: 48, nHeads: 25, dModel: 1600 },
};

const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(w[c])).join(" | ")} |`;
  return [line(header), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export function parseMemoryFlags(argv: string[]): MemoryFlags {
  const flags: MemoryFlags = { hold: true, sizes: ["small", "medium", "large", "xl"], runs: 200, rerunTokens: [6, 512] };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split("=");
    const value = () => inline ?? argv[++i];
    if (name === "--memory") continue;
    else if (name === "--no-hold") flags.hold = false;
    else if (name === "--sizes") flags.sizes = value().split(",").filter(Boolean);
    else if (name === "--runs") flags.runs = Number(value());
    else if (name === "--rerun-tokens") flags.rerunTokens = value().split(",").map(Number).filter((n) => n > 0);
    else throw new Error(`Unknown option "${argv[i]}" with --memory. Usage: npm run bench -- --memory [--sizes small,medium,large,xl] [--runs 200] [--rerun-tokens 6,512] [--no-hold]`);
  }
  const bad = flags.sizes.filter((s) => !SHAPES[s]);
  if (bad.length) throw new Error(`--sizes: unknown ${bad.join(", ")}; use ${Object.keys(SHAPES).join(", ")}.`);
  if (!Number.isInteger(flags.runs) || flags.runs < 1) throw new Error("--runs must be a whole number ≥ 1.");
  return flags;
}

export function sizeCheckpoint(size: string, log: (l: string) => void): string {
  const root = path.join(os.tmpdir(), "mechinterp-bench-sizes");
  const dir = path.join(root, `gpt2-${size}-random`);
  if (fs.existsSync(path.join(dir, "model.safetensors")) && fs.existsSync(path.join(dir, "done"))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  log(`Generating a GPT-2 ${size}-shaped random checkpoint into ${dir} (once) ...`);
  const t0 = performance.now();
  const written = writeGpt2SmallShapedCheckpoint(dir, { seed: 2, dtype: "F32", ...SHAPES[size] });
  fs.writeFileSync(path.join(dir, "done"), "");
  log(`  ${gb(written.fileBytes)} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return dir;
}

function runWorker(checkpointDir: string): Promise<MemoryWorkerResult | string>;
function runWorker(checkpointDir: string, mode: "hold"): Promise<HoldResult | string>;
function runWorker(checkpointDir: string, mode?: "hold"): Promise<MemoryWorkerResult | HoldResult | string> {
  const outFile = path.join(os.tmpdir(), `mechinterp-memory-worker-${process.pid}-${Date.now()}.json`);
  const env = { ...process.env };
  delete env.MECHINTERP_BACKEND; // default settings
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, "memoryWorker.js"), JSON.stringify({ checkpointDir, outFile, mode })], { stdio: ["ignore", "inherit", "inherit"], env });
    child.on("exit", (code, signal) => {
      if (code === 0 && fs.existsSync(outFile)) {
        const r = JSON.parse(fs.readFileSync(outFile, "utf8")) as MemoryWorkerResult | HoldResult;
        fs.rmSync(outFile, { force: true });
        resolve(r);
      } else resolve(`worker ${signal ? `killed by ${signal}` : `exit code ${code}`} (stderr above)`);
    });
  });
}

/** Runs the memory section; returns the printed text and the raw figures. */
export async function memoryBench(flags: MemoryFlags, smallCheckpointDir: string, log: (l: string) => void): Promise<{ text: string; json: unknown }> {
  const out: string[] = [];
  const json: Record<string, unknown> = {};

  // 1. Re-runs under the kernel.
  const probeAfter = [1, 10, 25, 50, 75, 100, 125, 150, 175, 200].filter((n) => n <= flags.runs);
  if (!probeAfter.includes(flags.runs)) probeAfter.push(flags.runs);
  const rerunRows: string[][] = [];
  const reruns: unknown[] = [];
  for (const tokens of flags.rerunTokens) {
    log(`Re-running the runWithCache cell ${flags.runs} times at ${tokens} tokens under the tslab kernel ...`);
    const t0 = performance.now();
    const probeFile = path.join(os.tmpdir(), `mechinterp-rerun-probes-${process.pid}-${tokens}.jsonl`);
    log(`  probes are appended to ${probeFile} as they happen`);
    const r = await runRerunNotebook({ checkpointDir: smallCheckpointDir, tokens, runs: flags.runs, probeAfter, cellTimeoutS: 900, probeFile });
    log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s; ${r.ok ? "all cells ran" : `FAILED: ${r.error}`}`);
    reruns.push({ tokens, ...r });
    for (const p of r.probes) {
      rerunRows.push([
        String(tokens),
        String(p.run),
        r.backend ?? "?",
        gb(p.held.total),
        gb(p.held.weights),
        gb(p.held.caches + p.held.results),
        String(p.numTensors),
        gb(p.rssBytes),
        `${p.lastRunS.toFixed(2)} s`,
      ]);
    }
    rerunRows.push([String(tokens), "after", r.backend ?? "?", r.ok ? "kernel alive" : "FAILED", "", "", "", r.peakRssBytes ? `peak ${gb(r.peakRssBytes)}` : "", r.aliveAfter ? "forward ok" : "forward FAILED"]);
  }
  json.reruns = reruns;
  out.push(
    `### Re-running \`const [logits, cache] = model.runWithCache(tokens);\` without disposing (GPT-2-small-shaped checkpoint, tslab kernel, default settings)`,
    "",
    table(["tokens", "runs", "backend", "tensors held", "weights", "caches + logits", "tensor count", "RSS", "last run"], rerunRows),
    ""
  );

  // 2. Holding caches in variables until the 4 GB heap is full.
  if (flags.hold) {
    log("Holding 512-token caches until the wasm heap refuses one ...");
    const h = await runWorker(smallCheckpointDir, "hold");
    json.hold = h;
    out.push(`### Holding \`runWithCache\` results at 512 tokens in variables until the heap is full (GPT-2-small-shaped, default settings)`, "");
    if (typeof h === "string") out.push(`failed: ${h}`, "");
    else {
      out.push(
        `${h.backend}: ${h.held} runs held (${h.heldGb.toFixed(2)} GB of tensors), then:`,
        "",
        "> " + (h.error || "no error within 20 runs"),
        "",
        `After disposing them: forward ${h.forwardAfter ? "works" : "FAILED"}; tensors ${h.tensorsAfterDispose} (after load: ${h.tensorsBefore}).`,
        ""
      );
    }
  }

  // 3. Sizes.
  const sizeRows: string[][] = [];
  const sizes: Record<string, unknown> = {};
  for (const size of flags.sizes) {
    let dir: string;
    try {
      dir = size === "small" ? smallCheckpointDir : sizeCheckpoint(size, log);
    } catch (err) {
      sizeRows.push([`gpt2-${size}`, `checkpoint failed: ${(err as Error).message}`, "", "", "", "", "", ""]);
      continue;
    }
    log(`Loading the ${size}-shaped checkpoint with default settings in a fresh process ...`);
    const r = await runWorker(dir);
    sizes[size] = r;
    if (typeof r === "string") {
      sizeRows.push([`gpt2-${size}`, r, "", "", "", "", "", ""]);
      continue;
    }
    const remainder = r.tensorBytes - 4 * r.parameters;
    sizeRows.push([
      `gpt2-${size}`,
      `${r.backend}: ${r.reason}`,
      `${(r.parameters / 1e6).toFixed(0)}M`,
      `${gb(r.tensorBytes)} (4×params ${remainder >= 0 ? "+" : ""}${(remainder / 1e3).toFixed(0)} kB)`,
      `${r.loadS.toFixed(1)} s`,
      `${r.peakRssGb.toFixed(2)} GB`,
      `${r.runWithCache32S.toFixed(2)} s`,
      `${r.tensorsAfterDispose} tensors, ${r.bytesAfterDispose} B`,
    ]);
  }
  json.sizes = sizes;
  out.push(
    `### Larger models with default settings (random F32 checkpoints, each in a fresh process)`,
    "",
    table(["model", "backend chosen", "parameters", "tensor bytes after load", "load", "peak RSS", "runWithCache 32 tokens", "after dispose()"], sizeRows),
    "",
    `Machine: ${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${os.loadavg()[0].toFixed(1)} at the end.`
  );
  return { text: out.join("\n"), json };
}
