/**
 * The TransformerLens figures the benchmark divides by, and where they came from.
 *
 * Built in: TransformerLens 2.12 measured on this project's machine kind (issue 14). A user can
 * measure TransformerLens on their own machine and pass the result with `--tl-timings FILE`, a JSON
 * file in the format below; the table then says which figures its ratios use.
 *
 * File format (every field but `grad_disabled` optional; seconds are medians):
 *
 *   {
 *     "source": "TransformerLens 2.12, torch 2.3, 8 threads, my laptop",
 *     "cpu": "Apple M2",
 *     "grad_disabled": {
 *       "load":                { "median_s": 1.90 },
 *       "run_with_cache_6":    { "median_s": 0.49 },
 *       "run_with_cache_128":  { "median_s": 1.19 },
 *       "run_with_cache_1024": { "median_s": 6.71, "peak_rss_gb": 3.24 },
 *       "forward_1024":        { "median_s": 8.00 }
 *     },
 *     "peak_rss_gb": { "after_load": 1.86, "after_run_with_cache_1024": 3.24 }
 *   }
 *
 * Case names may also be written as this benchmark's (`runWithCache128`). Unknown cases are ignored
 * (and listed); a case without a positive finite `median_s` is an error naming the case.
 */
import * as fs from "fs";
import type { TlCase } from "./plan";

export interface TlFigures {
  /** One line: what was measured, how, on which CPU. */
  source: string;
  /** "built in" or the file's path. */
  origin: string;
  figures: Partial<Record<TlCase, number>>;
  /** Cases in the file that the benchmark does not measure. */
  ignored: string[];
}

/**
 * TransformerLens 2.12 on this machine kind: AMD EPYC (Zen 2), 2 cores, torch 1.13 CPU with 2
 * threads, gradients off, the GPT-2-small-shaped random checkpoint processed with from_pretrained's
 * defaults; medians of 3 fresh processes × 5 runs (issue 14). Peak RSS after load was not re-measured
 * there; 1.86 GB is issue 5's figure (on a faster CPU of the same core count; memory does not depend
 * on the CPU's speed).
 */
export const BUILT_IN: TlFigures = {
  source:
    "TransformerLens 2.12, torch 1.13 CPU, 2 threads, gradients off, AMD EPYC (Zen 2) 2 cores, processed GPT-2-small-shaped random checkpoint, " +
    "medians of 3 fresh processes x 5 runs (issue 14; peak RSS after load from issue 5)",
  origin: "built in",
  figures: {
    load: 1.9,
    runWithCache6: 0.49,
    runWithCache128: 1.19,
    runWithCache1024: 6.71,
    forward1024: 8.0,
    rssAfterLoad: 1.86,
    rssAfterRunWithCache1024: 3.24,
  },
  ignored: [],
};

/** TransformerLens's case names (and ours) → the measurement they are compared with. */
const CASE_IDS: Record<string, TlCase> = {
  load: "load",
  from_pretrained: "load",
  run_with_cache_6: "runWithCache6",
  run_with_cache_128: "runWithCache128",
  run_with_cache_1024: "runWithCache1024",
  forward_1024: "forward1024",
  runWithCache6: "runWithCache6",
  runWithCache128: "runWithCache128",
  runWithCache1024: "runWithCache1024",
  forward1024: "forward1024",
};

const RSS_IDS: Record<string, TlCase> = {
  after_load: "rssAfterLoad",
  after_run_with_cache_1024: "rssAfterRunWithCache1024",
  rssAfterLoad: "rssAfterLoad",
  rssAfterRunWithCache1024: "rssAfterRunWithCache1024",
};

function positive(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses a timings file's JSON text (see the format above).
 * @param where the file's path, used in messages and as `origin`.
 * @throws naming the file and the field when the JSON is malformed or a figure is not a positive number.
 */
export function parseTlTimings(text: string, where: string): TlFigures {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`--tl-timings ${where} is not JSON (${(err as Error).message}). Pass a file like the one described in scripts/bench/tlFigures.ts.`);
  }
  if (!isObject(json) || !isObject(json.grad_disabled)) {
    throw new Error(`--tl-timings ${where} has no "grad_disabled" object; expected {"grad_disabled": {"load": {"median_s": 1.9}, ...}}.`);
  }
  const figures: Partial<Record<TlCase, number>> = {};
  const ignored: string[] = [];
  for (const [name, entry] of Object.entries(json.grad_disabled)) {
    const id = CASE_IDS[name];
    if (!id) {
      ignored.push(name);
      continue;
    }
    if (!isObject(entry) || !positive(entry.median_s)) {
      throw new Error(`--tl-timings ${where}: grad_disabled.${name}.median_s must be a positive number of seconds; got ${JSON.stringify(isObject(entry) ? entry.median_s : entry)}.`);
    }
    figures[id] = entry.median_s;
    if (id === "runWithCache1024" && entry.peak_rss_gb !== undefined) {
      if (!positive(entry.peak_rss_gb)) throw new Error(`--tl-timings ${where}: grad_disabled.${name}.peak_rss_gb must be a positive number of GB.`);
      figures.rssAfterRunWithCache1024 = entry.peak_rss_gb;
    }
  }
  if (json.peak_rss_gb !== undefined) {
    if (!isObject(json.peak_rss_gb)) throw new Error(`--tl-timings ${where}: "peak_rss_gb" must be an object like {"after_run_with_cache_1024": 3.24}.`);
    for (const [name, value] of Object.entries(json.peak_rss_gb)) {
      const id = RSS_IDS[name];
      if (!id) {
        ignored.push(`peak_rss_gb.${name}`);
        continue;
      }
      if (!positive(value)) throw new Error(`--tl-timings ${where}: peak_rss_gb.${name} must be a positive number of GB; got ${JSON.stringify(value)}.`);
      figures[id] = value;
    }
  }
  if (Object.keys(figures).length === 0) {
    throw new Error(`--tl-timings ${where} names none of the cases this benchmark measures (${Object.keys(CASE_IDS).filter((k) => k.includes("_")).join(", ")}).`);
  }
  const source = [typeof json.source === "string" ? json.source : "TransformerLens, measured by the user", typeof json.cpu === "string" ? `CPU ${json.cpu}` : ""]
    .filter(Boolean)
    .join("; ");
  return { source, origin: where, figures, ignored };
}

/** Reads and parses a timings file. @throws with the path when it cannot be read. */
export function readTlTimings(file: string): TlFigures {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`--tl-timings: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  return parseTlTimings(text, file);
}
