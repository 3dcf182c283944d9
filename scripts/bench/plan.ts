/**
 * What `npm run bench` measures, on which backend, and what it compares against: data tables only,
 * shared by the orchestrator (scripts/bench.ts) and the per-backend worker (scripts/bench/worker.ts).
 */
import type { BackendName } from "../../src/backend";

/** Every timed or measured cell of the benchmark, in the order the table prints them. */
export type MeasurementId =
  | "loadProcess"
  | "loadWriteCache"
  | "load"
  | "runWithCache6"
  | "runWithCache128"
  | "runWithCache1024"
  | "forward1024"
  | "runWithCache1024Filtered"
  | "rssAfterLoad"
  | "rssAfterRunWithCache1024"
  | "rssEnd"
  | "matmulGflops";

/** The hook kept by the `namesFilter` run: one [1, 12, 1024, 1024] pattern (48 MB) instead of 208 tensors. */
export const FILTERED_HOOK = "blocks.5.attn.hook_pattern";

export type PassKind = "runWithCache" | "forward" | "runWithCacheFiltered";

/** The TransformerLens figures a cell is compared with (see tlFigures.ts). */
export type TlCase = "load" | "runWithCache6" | "runWithCache128" | "runWithCache1024" | "forward1024" | "rssAfterLoad" | "rssAfterRunWithCache1024";

/**
 * The three loads, each in a fresh process: without the processed-weights cache, the first load that
 * writes it, and a load from it (the main worker's, after which the passes run).
 */
export type LoadMode = "process" | "writeCache" | "cached";

export interface MeasurementSpec {
  id: MeasurementId;
  /** Which TransformerLens figure the ratio divides by (none: no ratio). */
  tl?: TlCase;
  /** For loads: which of the three. */
  load?: LoadMode;
  label: string;
  unit: "s" | "GB" | "GFLOP/s";
  /** For model passes: which call and how many tokens (batch 1). */
  pass?: { kind: PassKind; tokens: number };
  /** Larger is better (GFLOP/s); ratios are printed only for smaller-is-better cells. */
  higherIsBetter?: boolean;
}

export const MEASUREMENTS: readonly MeasurementSpec[] = [
  { id: "loadProcess", label: "fromPretrained, read + process", unit: "s", tl: "load", load: "process" },
  { id: "loadWriteCache", label: "fromPretrained, first load (+ write cache)", unit: "s", tl: "load", load: "writeCache" },
  { id: "load", label: "fromPretrained, processed cache", unit: "s", tl: "load", load: "cached" },
  { id: "runWithCache6", label: "runWithCache, 6 tokens", unit: "s", tl: "runWithCache6", pass: { kind: "runWithCache", tokens: 6 } },
  { id: "runWithCache128", label: "runWithCache, 128 tokens", unit: "s", tl: "runWithCache128", pass: { kind: "runWithCache", tokens: 128 } },
  { id: "runWithCache1024", label: "runWithCache, 1024 tokens", unit: "s", tl: "runWithCache1024", pass: { kind: "runWithCache", tokens: 1024 } },
  { id: "forward1024", label: "forward, 1024 tokens", unit: "s", tl: "forward1024", pass: { kind: "forward", tokens: 1024 } },
  {
    id: "runWithCache1024Filtered",
    label: `runWithCache, 1024 tokens, 1 hook`,
    unit: "s",
    pass: { kind: "runWithCacheFiltered", tokens: 1024 },
  },
  { id: "rssAfterLoad", label: "peak RSS after load (cached)", unit: "GB", tl: "rssAfterLoad" },
  { id: "rssAfterRunWithCache1024", label: "peak RSS after runWithCache 1024", unit: "GB", tl: "rssAfterRunWithCache1024" },
  { id: "rssEnd", label: "peak RSS at the end", unit: "GB" },
  { id: "matmulGflops", label: "matmul [1024,768]x[768,3072]", unit: "GFLOP/s", higherIsBetter: true },
];

/** The 1024-token cells, which a slow backend leaves out. */
export const LONG_CELLS: readonly MeasurementId[] = ["runWithCache1024", "rssAfterRunWithCache1024", "forward1024", "runWithCache1024Filtered"];

/** How much of the plan a backend runs. */
export interface BackendPlan {
  /** Timed runs per pass, after `warmup` untimed ones; the median is reported. */
  reps: number;
  warmup: number;
  /**
   * Timed runs of one pass stop early, after at least one, once they have taken this many seconds:
   * while a 1024-token pass takes most of a minute, the default run still ends in minutes. The
   * table labels a cell that got fewer runs than `reps`.
   */
  passBudgetS: number;
  /**
   * Leave out the 1024-token cells when the 128-token runWithCache median exceeds `maxS`: a backend
   * that slow (the pure-JS cpu backend multiplies at ~1 GFLOP/s) would spend many minutes there.
   */
  gate?: { on: MeasurementId; maxS: number; skip: readonly MeasurementId[] };
  /** The matmul ceiling: repeat until `reps` timed runs or `budgetS` seconds, after one warm-up. */
  matmul: { reps: number; budgetS: number };
}

const FULL: BackendPlan = { reps: 5, warmup: 1, passBudgetS: 60, matmul: { reps: 5, budgetS: 20 } };

/** The `cpu` backend runs the 1024-token passes only when it is within ~5x of TransformerLens at 128 tokens. */
const CPU_GATED: BackendPlan = { ...FULL, gate: { on: "runWithCache128", maxS: 3, skip: LONG_CELLS } };

export interface PlanFlags {
  quick: boolean;
  fullCpu: boolean;
  reps?: number;
}

/** The plan for one backend under the command-line flags. */
export function planFor(backend: BackendName, flags: PlanFlags): BackendPlan {
  let plan: BackendPlan = backend === "cpu" && !flags.fullCpu ? CPU_GATED : FULL;
  if (flags.quick) plan = { ...plan, reps: 2, matmul: { reps: 2, budgetS: 5 } };
  if (flags.reps !== undefined) plan = { ...plan, reps: flags.reps, passBudgetS: 1e9 }; // asked for: no early stop
  return plan;
}

/** Backends in the order they are benchmarked (the order initBackend prefers them). */
export const ALL_BACKENDS: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];
