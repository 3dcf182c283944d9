/**
 * A model's processed state dict from its source files: from the processed-weights cache when it
 * holds a current entry (see processedCache.ts), else read, converted and processed, and then
 * written to the cache for next time.
 *
 * The cache is on by default for models downloaded from the hub (a preset name) and off for local
 * folders; `processedCache: true | false` decides per call, and $MECHINTERP_PROCESSED_CACHE=0 / 1
 * changes the default. A cache that cannot be written (read-only or full disk) costs a warning,
 * never the load.
 */
import { HookedTransformerConfig } from "../model/config";
import { LoadCheckpointOptions, ModelSource, loadCheckpoint, readCheckpointConfig } from "./loadPretrained";
import {
  PROCESSED_CACHE_ENV_VAR,
  defaultProcessedCacheRoot,
  processedCacheFile,
  processedCacheKey,
  processedShapes,
  readProcessedCache,
  writeProcessedCache,
} from "./processedCache";
import { ProcessWeightsOptions, processWeights } from "./processWeights";
import { TensorStateDict } from "./stateDict";

export interface ProcessedCacheOptions {
  /**
   * Keep processed weights on disk and read them from there next time (load ≈ reading one file).
   * Default: on for hub downloads, off for local folders; $MECHINTERP_PROCESSED_CACHE=0 or 1 changes it.
   */
  processedCache?: boolean;
  /** Folder of the processed-weights cache (default <hub cache>/mechinterp-ts/processed). */
  processedCacheDir?: string;
}

/** What the cache did for one load: read an entry, wrote one (with why there was none usable), or was off. */
export type ProcessedCacheOutcome =
  | { status: "hit"; file: string }
  | { status: "written"; file: string; miss: string }
  | { status: "write failed"; file: string; miss: string; error: string }
  | { status: "off" };

export interface LoadedProcessed {
  cfg: HookedTransformerConfig;
  /** TransformerLens names, processed, on the active backend; owned by the caller. */
  stateDict: TensorStateDict;
  cache: ProcessedCacheOutcome;
}

/** Whether the cache is used for `source` under `options` and the environment. */
export function processedCacheEnabled(source: ModelSource, options: ProcessedCacheOptions, env: NodeJS.ProcessEnv = process.env): boolean {
  if (options.processedCache !== undefined) return options.processedCache;
  const fromEnv = env[PROCESSED_CACHE_ENV_VAR];
  if (fromEnv === "0" || fromEnv === "false") return false;
  if (fromEnv === "1" || fromEnv === "true") return true;
  return source.fromHub === true;
}

/**
 * @returns the processed state dict and config (cfg.normalizationType "LNPre" when foldLn), and what
 *   the cache did. Values are the same bit for bit whichever way they were obtained.
 */
export function loadProcessedCheckpoint(
  source: ModelSource,
  options: ProcessWeightsOptions & ProcessedCacheOptions & Pick<LoadCheckpointOptions, "warn" | "cacheDir"> = {}
): LoadedProcessed {
  const warn = options.warn ?? ((m: string) => process.stderr.write(m + "\n"));
  const process_ = (): { stateDict: TensorStateDict; cfg: HookedTransformerConfig } => {
    const checkpoint = loadCheckpoint(source, { warn });
    return processWeights(checkpoint.stateDict, checkpoint.cfg, options);
  };
  if (!processedCacheEnabled(source, options)) return { ...process_(), cache: { status: "off" } };

  const rawCfg = readCheckpointConfig(source);
  const key = processedCacheKey(source.weightsPath, source.configPath, options);
  const file = processedCacheFile(options.processedCacheDir ?? defaultProcessedCacheRoot(options.cacheDir), key);
  const cfg: HookedTransformerConfig = options.foldLn === false ? rawCfg : { ...rawCfg, normalizationType: "LNPre" };
  const found = readProcessedCache(file, key, processedShapes(rawCfg, options));
  if (found.stateDict) return { cfg, stateDict: found.stateDict, cache: { status: "hit", file } };

  const processed = process_();
  try {
    writeProcessedCache(file, key, processed.stateDict);
    return { ...processed, cache: { status: "written", file, miss: found.miss ?? "no entry" } };
  } catch (err) {
    const error = (err as Error).message;
    warn(`[mechinterp-ts] warning: could not write the processed-weights cache ${file} (${error}); the model loaded normally. Pass processedCache: false to stop trying.`);
    return { ...processed, cache: { status: "write failed", file, miss: found.miss ?? "no entry", error } };
  }
}
