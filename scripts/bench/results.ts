/**
 * What a benchmark worker hands back to the orchestrator (as a JSON file), and helpers both sides use.
 */
import type { MeasurementId } from "./plan";

/** One measured cell. `value` is the median of `samples` (seconds, GB or GFLOP/s). */
export interface Cell {
  value?: number;
  samples?: number[];
  warmup?: number;
  /** Why the cell was not measured (plan) ... */
  skipped?: string;
  /** ... or the error that stopped it. */
  error?: string;
}

export interface WorkerResult {
  backend: string;
  /** model.backendInfo.device, e.g. "cpu (WebAssembly SIMD)". */
  device: string;
  tfjsVersion: string;
  /** tfjs environment flags that explain the numbers (SIMD, threads). */
  flags: Record<string, boolean | number | string>;
  /** Seconds to require the package (tfjs, backends, tokenizer) before fromPretrained. */
  importS: number;
  numParameters: number;
  cfg: { nLayers: number; nHeads: number; dModel: number; dMlp: number; dVocab: number; nCtx: number };
  cells: Partial<Record<MeasurementId, Cell>>;
  /** Load-only runs ("process", "writeCache") report their load cell and stop; these are then absent. */
  /** For the "cached" run: whether the processed-cache entry was read as it was (false: it was rewritten). */
  cacheHit?: boolean;
  /** tf.memory().numTensors after load and at the end: equal unless a pass leaked. */
  tensorsAfterLoad: number;
  tensorsAtEnd: number;
}

/** Arguments of one worker run, passed as a single JSON argument. */
export interface WorkerArgs {
  backend: string;
  checkpointDir: string;
  outFile: string;
  plan: import("./plan").BackendPlan;
  /** Which load this process measures; only "cached" goes on to the passes. */
  load: import("./plan").LoadMode;
  /** The processed-weights cache folder the loads share. */
  processedCacheDir: string;
  /** Seed of the random token ids. */
  seed: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("median of no samples");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** process.resourceUsage().maxRSS (kilobytes) in GB (10^9 bytes). */
export function peakRssGb(): number {
  return (process.resourceUsage().maxRSS * 1024) / 1e9;
}

/**
 * Multiply-add FLOPs of one GPT-2 forward pass at `pos` tokens (batch 1), counting 2 per
 * multiply-add: per layer the q/k/v/o and MLP matmuls (2·pos·(4 d² + 2 d d_mlp)) and the full
 * (unmasked) score and pattern·v products (2 · 2·pos²·d), then the unembedding (2·pos·d·d_vocab).
 */
export function forwardFlops(cfg: WorkerResult["cfg"], pos: number): number {
  const { nLayers, dModel: d, dMlp, dVocab } = cfg;
  const perLayer = 2 * pos * (4 * d * d + 2 * d * dMlp) + 4 * pos * pos * d;
  return nLayers * perLayer + 2 * pos * d * dVocab;
}
