/**
 * `npm run bench`: speed and memory of HookedTransformer against TransformerLens 2.12 (issue 5).
 *
 *   npm run bench [-- --backends wasm,cpu] [--quick] [--full-cpu] [--reps N] [--tl-timings FILE] [--kernels-only]
 *   npm run bench -- --memory [--sizes small,medium,large,xl] [--runs 200] [--rerun-tokens 6,512]
 *   npm run bench -- --kernels [--reps N]   (Jupyter kernels: start and first cells, tslab and Deno)
 *
 *   --backends LIST  which of tensorflow, wasm, cpu to run (default: every one this machine has)
 *   --quick          2 timed runs per pass instead of 5 (for iterating; not for reported figures)
 *   --full-cpu       run the 1024-token passes on the cpu backend even when its 128-token pass
 *                    shows they would take minutes each (by default they are then skipped)
 *   --reps N         timed runs per pass (after one warm-up)
 *   --tl-timings F   divide by TransformerLens figures measured on this machine (JSON; format in
 *                    scripts/bench/tlFigures.ts) instead of the built-in ones
 *   --kernels-only   only the native matrix multiply table (OpenBLAS beside the portable SGEMM)
 *
 * Generates once a GPT-2-small-shaped random checkpoint into .cache/bench/gpt2-small-random/, then
 * benchmarks each backend in fresh Node processes (scripts/bench/worker.ts): one per kind of load
 * (no processed cache; first load, which writes .cache/bench/processed-<backend>/; from that cache),
 * the last then running the passes, so load time and peak RSS belong to that backend alone. Prints a Markdown table per backend (ours, TransformerLens's
 * figure, ours/TL: at most 1.00 means at least as fast or as small) and writes everything as JSON to
 * .cache/bench/results-<timestamp>.json. Timings are medians; these machines are noisy, so compare
 * figures from one run.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { BackendName } from "../src/backend";
import { ensureBenchCheckpoint } from "./bench/checkpoint";
import { memoryBench, parseMemoryFlags } from "./bench/memory";
import {
  ALL_BACKENDS,
  BackendPlan,
  FILTERED_HOOK,
  MEASUREMENTS,
  LoadMode,
  PlanFlags,
  planFor,
} from "./bench/plan";
import { gemmKernelTable, measureGemmKernels } from "./bench/gemmKernels";
import { Cell, WorkerArgs, WorkerResult, forwardFlops } from "./bench/results";
import { BUILT_IN, TlFigures, readTlTimings } from "./bench/tlFigures";

/** TransformerLens's parameter count for GPT-2 small (W_U counted apart from W_E, biases included). */
const EXPECTED_PARAMETERS = 163_049_041;
/** A backend's worker is stopped after this long (the cpu backend with --full-cpu needs the most). */
const WORKER_TIMEOUT_S = 45 * 60;
const TOKEN_SEED = 20240501;

const projectRoot = path.resolve(__dirname, "..", "..");
const benchRoot = path.join(projectRoot, ".cache", "bench");

interface Flags extends PlanFlags {
  backends?: BackendName[];
  tlTimings?: string;
  kernelsOnly?: boolean;
}

/** os.loadavg()[0] before and after a worker: above the core count, other work shared the CPUs. */
interface Load {
  loadBefore: number;
  loadAfter: number;
}

type BackendOutcome =
  | ({ backend: BackendName; status: "ok"; plan: BackendPlan; wallS: number; result: WorkerResult } & Load)
  | { backend: BackendName; status: "unavailable" | "failed"; reason: string; plan?: BackendPlan; wallS?: number };

const USAGE = "Usage: npm run bench [-- --backends tensorflow,wasm,cpu] [--quick] [--full-cpu] [--reps N] [--tl-timings FILE] [--kernels-only]";

function parseArgs(argv: string[]): Flags {
  const flags: Flags = { quick: false, fullCpu: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a.split("=")[0]} needs a value. ${USAGE}`);
      return v;
    };
    const name = a.split("=")[0];
    if (name === "--quick") flags.quick = true;
    else if (name === "--full-cpu") flags.fullCpu = true;
    else if (name === "--kernels-only") flags.kernelsOnly = true;
    else if (name === "--backends") {
      const list = value().split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
      const bad = list.filter((b) => !ALL_BACKENDS.includes(b as BackendName));
      if (bad.length || list.length === 0) throw new Error(`--backends: unknown backend(s) "${bad.join(", ")}"; use ${ALL_BACKENDS.join(", ")}.`);
      flags.backends = list as BackendName[];
    } else if (name === "--reps") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`--reps must be a whole number ≥ 1.`);
      flags.reps = n;
    } else if (name === "--tl-timings") {
      flags.tlTimings = value();
    } else if (name === "--help" || name === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`Unknown option "${a}". ${USAGE}`);
  }
  return flags;
}

/** Why the native backend cannot run here, or undefined when its package is installed (loading is tried in the worker). */
function nativeMissing(): string | undefined {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      require.resolve(pkg);
      return undefined;
    } catch {
      // try the next
    }
  }
  return "@tensorflow/tfjs-node-gpu is not installed; its install downloads a native TensorFlow binary";
}

function runWorker(backend: BackendName, plan: BackendPlan, checkpointDir: string, stamp: string, load: LoadMode): Promise<BackendOutcome> {
  const outFile = path.join(benchRoot, `worker-${stamp}-${backend}-${load}.json`);
  const processedCacheDir = path.join(benchRoot, `processed-${backend}`);
  const args: WorkerArgs = { backend, checkpointDir, outFile, plan, seed: TOKEN_SEED, load, processedCacheDir };
  const script = path.join(__dirname, "bench", "worker.js");
  const t0 = performance.now();
  const loadBefore = os.loadavg()[0];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", script, JSON.stringify(args)], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, MECHINTERP_BACKEND: backend },
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), WORKER_TIMEOUT_S * 1000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const wallS = (performance.now() - t0) / 1000;
      if (code === 0 && fs.existsSync(outFile)) {
        const result = JSON.parse(fs.readFileSync(outFile, "utf8")) as WorkerResult;
        fs.rmSync(outFile, { force: true });
        resolve({ backend, status: "ok", plan, wallS, result, loadBefore, loadAfter: os.loadavg()[0] });
      } else {
        const how = signal ? `killed by ${signal}${wallS >= WORKER_TIMEOUT_S ? ` after ${WORKER_TIMEOUT_S} s` : ""}` : `exit code ${code}`;
        resolve({ backend, status: "failed", reason: `worker ${how} (its stderr is above)`, plan, wallS });
      }
    });
  });
}

// ---- printing ------------------------------------------------------------------------------------

function fmt(value: number, unit: string): string {
  if (unit === "GFLOP/s") return `${value.toFixed(1)} ${unit}`;
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ${unit}`;
}

function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

function backendTable(outcome: Extract<BackendOutcome, { status: "ok" }>, tl: TlFigures): string {
  const { result, plan } = outcome;
  const notes: string[] = [];
  const noteMark = (text: string): string => {
    let i = notes.indexOf(text);
    if (i < 0) i = notes.push(text) - 1;
    return `(${i + 1})`;
  };
  const rows = MEASUREMENTS.map((spec) => {
    const cell: Cell = result.cells[spec.id] ?? { error: "not reported" };
    const tlValue = spec.tl ? tl.figures[spec.tl] : undefined;
    let label = spec.label;
    if (spec.pass && cell.samples && cell.samples.length !== plan.reps) {
      label += ` (${cell.samples.length} run${cell.samples.length > 1 ? "s" : ""}${cell.warmup ? "" : ", no warm-up"})`;
    }
    let ours: string;
    let ratio = "—";
    if (cell.value !== undefined) {
      ours = fmt(cell.value, spec.unit);
      if (tlValue !== undefined && !spec.higherIsBetter) ratio = (cell.value / tlValue).toFixed(2);
    } else if (cell.skipped) ours = `skipped ${noteMark(cell.skipped)}`;
    else ours = `error ${noteMark(cell.error ?? "unknown")}`;
    return [label, ours, tlValue !== undefined ? fmt(tlValue, spec.unit) : "—", ratio];
  });
  const table = markdownTable(["Measurement (batch 1)", "ours", "TransformerLens 2.12", "ours/TL"], rows);
  return table + (notes.length ? "\n" + notes.map((n, i) => `(${i + 1}) ${n}`).join("\n") : "");
}

function derivedLines(result: WorkerResult): string[] {
  const lines: string[] = [];
  const ceiling = result.cells.matmulGflops?.value;
  for (const id of ["forward1024", "runWithCache1024"] as const) {
    const s = result.cells[id]?.value;
    if (s === undefined) continue;
    const gflop = forwardFlops(result.cfg, 1024) / 1e9;
    const rate = gflop / s;
    lines.push(
      `${id === "forward1024" ? "forward" : "runWithCache"} 1024: ${gflop.toFixed(0)} GFLOP in ${s.toFixed(2)} s = ${rate.toFixed(1)} GFLOP/s` +
        (ceiling ? ` (${((100 * rate) / ceiling).toFixed(0)}% of the matmul ceiling; at the ceiling it would take ${(gflop / ceiling).toFixed(2)} s)` : "")
    );
  }
  return lines;
}

/**
 * The CPU as precisely as the OS says: os.cpus()'s model name (often only "AMD EPYC" in a VM) plus
 * /proc/cpuinfo's family, model and stepping where there is one (AMD family 23 = Zen/Zen 2, 25 = Zen 3/4).
 */
function cpuDescription(): string {
  const name = os.cpus()[0]?.model?.trim() || "unknown CPU";
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    const field = (f: string) => new RegExp(`^${f}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();
    const [family, model, stepping] = [field("cpu family"), field("model"), field("stepping")];
    if (family && model) return `${name} (family ${family}, model ${model}${stepping ? `, stepping ${stepping}` : ""})`;
  } catch {
    // not Linux
  }
  return name;
}

/** A 1-minute load average above the core count: another process competed for the CPUs. */
function busy(load: number): boolean {
  return load > os.cpus().length + 0.5;
}

function machineLines(outcomes: BackendOutcome[]): string[] {
  const cpus = os.cpus();
  const lines = [
    `Machine: ${cpuDescription()}, ${cpus.length} cores (os.availableParallelism ${os.availableParallelism()}), ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}, Node ${process.version}`,
  ];
  for (const o of outcomes) {
    if (o.status === "ok") {
      const r = o.result;
      const flags = Object.entries(r.flags).map(([k, v]) => `${k}=${v}`).join(", ");
      lines.push(
        `  ${o.backend}: ${r.device}, tfjs ${r.tfjsVersion}${flags ? ` (${flags})` : ""}; import ${r.importS.toFixed(2)} s; ` +
          `worker wall ${o.wallS.toFixed(0)} s; load average ${o.loadBefore.toFixed(1)} before, ${o.loadAfter.toFixed(1)} after${busy(o.loadAfter) ? " (BUSY: other processes shared the cores, figures are pessimistic)" : ""}`
      );
    } else lines.push(`  ${o.backend}: ${o.status}: ${o.reason}`);
  }
  return lines;
}

function sanityLines(outcomes: BackendOutcome[]): string[] {
  const lines: string[] = [];
  for (const o of outcomes) {
    if (o.status !== "ok") continue;
    const n = o.result.numParameters;
    const leaked = o.result.tensorsAtEnd - o.result.tensorsAfterLoad;
    lines.push(
      `  ${o.backend}: parameters ${n.toLocaleString("en-US")} (expected ${EXPECTED_PARAMETERS.toLocaleString("en-US")}: ${n === EXPECTED_PARAMETERS ? "ok" : "MISMATCH"}); ` +
        `tensors after load ${o.result.tensorsAfterLoad}, at the end ${o.result.tensorsAtEnd}${leaked === 0 ? "" : ` (${leaked > 0 ? "+" : ""}${leaked})`}`
    );
  }
  return lines;
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (process.argv.includes("--memory")) return memoryMain();
  // charts: `npm run bench -- --charts [--reps N]` runs the chart bench only (scripts/bench-charts.ts)
  // kernels: `npm run bench -- --kernels [--reps N]` times tslab's and Deno's kernel start and first cells
  if (process.argv.includes("--kernels")) {
    const i = process.argv.indexOf("--reps");
    await (await import("./benchKernels")).runKernelBench(i >= 0 ? Number(process.argv[i + 1]) : 3);
    return 0;
  }
  if (process.argv.includes("--charts")) {
    const i = process.argv.indexOf("--reps");
    (await import("./bench-charts")).runChartBench(i >= 0 ? Number(process.argv[i + 1]) || 3 : 3);
    return 0;
  }
  const flags = parseArgs(process.argv.slice(2));
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  const log = (line: string) => process.stderr.write(line + "\n");

  const tl: TlFigures = flags.tlTimings ? readTlTimings(flags.tlTimings) : BUILT_IN;
  if (tl.ignored.length) log(`--tl-timings: ignoring cases this benchmark does not measure: ${tl.ignored.join(", ")}`);
  log("native matrix multiply kernels: measuring ...");
  const gemmKernels = measureGemmKernels(flags.quick ? 0.5 : 1.5);
  if (flags.kernelsOnly) {
    console.log(gemmKernelTable(gemmKernels).join("\n"));
    return "unavailable" in gemmKernels ? 1 : 0;
  }
  const checkpoint = ensureBenchCheckpoint(benchRoot, log);
  const startLoad = os.loadavg()[0];
  if (busy(startLoad)) {
    log(`Warning: the load average is ${startLoad.toFixed(1)} on ${os.cpus().length} cores: other processes are running, so timings will be slower than this machine can do.`);
  }
  const missingNative = nativeMissing();
  const requested = flags.backends ?? [...ALL_BACKENDS];
  const outcomes: BackendOutcome[] = [];
  for (const backend of requested) {
    if (backend === "tensorflow" && missingNative) {
      outcomes.push({ backend, status: "unavailable", reason: missingNative });
      log(`${backend}: unavailable: ${missingNative}`);
      continue;
    }
    const plan = planFor(backend, flags);
    fs.rmSync(path.join(benchRoot, `processed-${backend}`), { recursive: true, force: true });
    const loads: Partial<Record<string, Cell>> = {};
    for (const load of ["process", "writeCache"] as const) {
      log(`${backend}: load (${load === "process" ? "no processed cache" : "first load, writes the processed cache"}) in a fresh process ...`);
      const o = await runWorker(backend, plan, checkpoint.dir, stamp, load);
      const id = load === "process" ? "loadProcess" : "loadWriteCache";
      loads[id] = o.status === "ok" ? o.result.cells[id] : { error: o.reason };
    }
    log(`${backend}: benchmarking in a fresh process, loading from the processed cache (${plan.warmup} warm-up + ${plan.reps} timed runs per pass) ...`);
    const outcome = await runWorker(backend, plan, checkpoint.dir, stamp, "cached");
    if (outcome.status !== "ok") log(`${backend}: ${outcome.status}: ${outcome.reason}`);
    else Object.assign(outcome.result.cells, loads);
    outcomes.push(outcome);
  }

  const out: string[] = [];
  out.push(`\nHookedTransformer benchmark: GPT-2-small-shaped random checkpoint (${(checkpoint.bytes / 1e6).toFixed(0)} MB F32), batch 1, random token ids, median of timed runs after a warm-up.`);
  out.push(`Ratios divide by TransformerLens figures from ${tl.origin === "built in" ? "the built-in table (scripts/bench/tlFigures.ts; pass --tl-timings FILE for your machine's)" : tl.origin}: ${tl.source}.`);
  out.push(`This machine: ${cpuDescription()}, ${os.cpus().length} cores. GB = 10^9 bytes (peak RSS, process.resourceUsage().maxRSS).`);
  out.push(`"1 hook" = namesFilter "${FILTERED_HOOK}". ours/TL ≤ 1.00: at least as fast (or as small) as TransformerLens.`);
  out.push(`A cell marked "(n runs)" stopped early: the timed runs of one pass stop after ${outcomes.find((o) => o.plan)?.plan?.passBudgetS ?? 60} s.`);
  for (const o of outcomes) {
    out.push("");
    if (o.status !== "ok") {
      out.push(`### ${o.backend}: ${o.status}: ${o.reason}`);
      continue;
    }
    out.push(`### ${o.backend}: ${o.result.device}`);
    out.push("");
    out.push(backendTable(o, tl));
    if (o.result.cacheHit === false) out.push("(the load from the processed cache did not find the entry the first load wrote: it processed and wrote it again)");
    const derived = derivedLines(o.result);
    if (derived.length) out.push("", ...derived);
  }
  out.push("", ...gemmKernelTable(gemmKernels));
  out.push("", ...machineLines(outcomes));
  out.push("Sanity:", ...sanityLines(outcomes));

  const jsonFile = path.join(benchRoot, `results-${stamp}.json`);
  const json = {
    startedAt: started.toISOString(),
    argv: process.argv.slice(2),
    machine: {
      cpu: cpuDescription(),
      cores: os.cpus().length,
      availableParallelism: os.availableParallelism(),
      totalMemGiB: os.totalmem() / 2 ** 30,
      platform: `${os.platform()} ${os.release()}`,
      node: process.version,
    },
    checkpoint,
    transformerLens: tl,
    expectedParameters: EXPECTED_PARAMETERS,
    backends: outcomes,
    gemmKernels,
  };
  fs.writeFileSync(jsonFile, JSON.stringify(json, null, 2));
  out.push(`Results written to ${path.relative(process.cwd(), jsonFile) || jsonFile}`);
  console.log(out.join("\n"));

  const failed = outcomes.filter((o) => o.status === "failed");
  const badCount = outcomes.some((o) => o.status === "ok" && o.result.numParameters !== EXPECTED_PARAMETERS);
  const ran = outcomes.filter((o) => o.status === "ok").length;
  return failed.length || badCount || ran === 0 ? 1 : 0;
}

/** `--memory`: the memory section alone (scripts/bench/memory.ts). */
async function memoryMain(): Promise<number> {
  const flags = parseMemoryFlags(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(line + "\n");
  const checkpoint = ensureBenchCheckpoint(benchRoot, log);
  const { text, json } = await memoryBench(flags, checkpoint.dir, log);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const jsonFile = path.join(benchRoot, `memory-${stamp}.json`);
  fs.writeFileSync(jsonFile, JSON.stringify({ argv: process.argv.slice(2), ...(json as object) }, null, 2));
  console.log(`\n${text}\nResults written to ${path.relative(process.cwd(), jsonFile) || jsonFile}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`Benchmark failed: ${(err as Error).message}`);
    process.exit(2);
  }
);
