/**
 * Where an SAE's files come from (a release on the hub, $SAE_OVERRIDE_DIR, a local folder) and how
 * they become tensors: cfg.json is parsed and every tensor's name, dtype and shape checked against it
 * before anything is uploaded; F32 tensors are then read straight into backend memory (one copy, as
 * the model loader does), and on any failure every uploaded tensor is freed.
 */
import * as fs from "fs";
import * as path from "path";
import { tf } from "../backend";
import { DownloadProgressCallback, downloadHubFile, stderrProgressBar } from "../weights/hub";
import { checkFinite } from "../weights/checkFinite";
import { corruptFileHint } from "../weights/corruptFileHint";
import { shapeString } from "../weights/hostTensor";
import { downloadOptionalHubFile } from "../weights/hubOptionalFile";
import { SafetensorsFile, checkWeightDtypes, openSafetensors, readF32Into, readTensor } from "../weights/safetensors";
import { uploadFloat32 } from "../weights/uploadTensor";
import { SAEConfig, saeConfigFromDict } from "./config";
import { findPretrainedSae } from "./pretrainedSaes";

export const SAE_OVERRIDE_ENV_VAR = "SAE_OVERRIDE_DIR";
export const SAE_CFG_FILE = "cfg.json";
export const SAE_WEIGHTS_FILE = "sae_weights.safetensors";
export const SAE_SPARSITY_FILE = "sparsity.safetensors";

const SAE_LOCAL_DIR_HINT =
  `set ${SAE_OVERRIDE_ENV_VAR} to a local folder holding <saeId>/${SAE_CFG_FILE} and <saeId>/${SAE_WEIGHTS_FILE} ` +
  `(or load one SAE's folder with SAE.fromDir).`;

export interface SaeFiles {
  cfgPath: string;
  weightsPath: string;
  /** null when the SAE has no sparsity.safetensors. */
  sparsityPath: string | null;
}

export interface ResolveSaeOptions {
  /** Hugging Face cache folder (default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub address (default $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Download progress; default: a progress bar on stderr. Pass `() => {}` for silence. */
  onProgress?: DownloadProgressCallback;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The files of an SAE folder (cfg.json, sae_weights.safetensors, optional sparsity.safetensors). */
export function localSaeFiles(dir: string): SaeFiles {
  if (!isDirectory(dir)) {
    throw new Error(`SAE folder ${dir} does not exist or is not a directory. An SAE folder holds ${SAE_CFG_FILE} and ${SAE_WEIGHTS_FILE} as SAELens saves them.`);
  }
  const cfgPath = path.join(dir, SAE_CFG_FILE);
  const weightsPath = path.join(dir, SAE_WEIGHTS_FILE);
  const missing = [cfgPath, weightsPath].filter((p) => !fs.existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `SAE folder ${dir} is missing ${missing.map((p) => path.basename(p)).join(" and ")}. ` +
        `An SAE folder holds ${SAE_CFG_FILE} and ${SAE_WEIGHTS_FILE} (and optionally ${SAE_SPARSITY_FILE}), as SAELens's save_model writes them.`
    );
  }
  const sparsity = path.join(dir, SAE_SPARSITY_FILE);
  return { cfgPath, weightsPath, sparsityPath: fs.existsSync(sparsity) ? sparsity : null };
}

/**
 * The files of SAE `saeId` of `release`: from $SAE_OVERRIDE_DIR/<path> when that is set (with a
 * warning), else from the hub cache, downloading what is missing. Unknown names fail before any
 * file or network access.
 */
export async function resolvePretrainedSaeFiles(release: string, saeId: string, options: ResolveSaeOptions = {}): Promise<SaeFiles> {
  const found = findPretrainedSae(release, saeId);
  const override = process.env[SAE_OVERRIDE_ENV_VAR];
  if (override) {
    if (!isDirectory(override)) {
      throw new Error(`$${SAE_OVERRIDE_ENV_VAR} is set to ${override}, which is not a directory. Unset it or point it at a folder holding <saeId>/ folders.`);
    }
    const warn = options.warn ?? ((m: string) => process.stderr.write(m + "\n"));
    const dir = path.join(override, found.sae.path);
    warn(`[mechinterp-ts] warning: $${SAE_OVERRIDE_ENV_VAR} is set, so SAE "${saeId}" of "${release}" is loaded from ${path.resolve(dir)} instead.`);
    return localSaeFiles(dir);
  }
  const hub = {
    cacheDir: options.cacheDir,
    endpoint: options.endpoint,
    onProgress: options.onProgress ?? stderrProgressBar(),
    localDirHint: SAE_LOCAL_DIR_HINT,
  };
  const repo = found.release.repoId;
  const folder = found.sae.path;
  const cfgPath = await downloadHubFile(repo, `${folder}/${SAE_CFG_FILE}`, hub);
  const weightsPath = await downloadHubFile(repo, `${folder}/${SAE_WEIGHTS_FILE}`, hub);
  const sparsityPath = await downloadOptionalHubFile(repo, `${folder}/${SAE_SPARSITY_FILE}`, hub);
  return { cfgPath, weightsPath, sparsityPath };
}

/** The four parameters of a standard SAE, on the active backend. */
export interface SaeParams {
  /** [d_in, d_sae] */
  W_enc: tf.Tensor2D;
  /** [d_sae] */
  b_enc: tf.Tensor1D;
  /** [d_sae, d_in] */
  W_dec: tf.Tensor2D;
  /** [d_in] */
  b_dec: tf.Tensor1D;
}

export interface LoadedSaeFiles {
  cfg: SAEConfig;
  cfgDict: Record<string, unknown>;
  /** Owned by the caller. */
  params: SaeParams;
  /** The log10 feature sparsity [d_sae], owned by the caller; null without sparsity.safetensors. */
  sparsity: tf.Tensor1D | null;
}

function expectedShapes(cfg: SAEConfig): Record<keyof SaeParams, number[]> {
  return { W_enc: [cfg.dIn, cfg.dSae], b_enc: [cfg.dSae], W_dec: [cfg.dSae, cfg.dIn], b_dec: [cfg.dIn] };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Throws unless the weights file holds exactly the four parameters, with the config's shapes. */
function checkWeights(file: SafetensorsFile, cfg: SAEConfig, cfgPath: string): void {
  const shapes = expectedShapes(cfg);
  const names = Object.keys(shapes) as (keyof SaeParams)[];
  const missing = names.filter((n) => !file.entries.has(n));
  if (missing.length > 0) {
    throw new Error(
      `${file.path} lacks ${missing.map((n) => `"${n}"`).join(", ")}; a standard SAE's weights are W_enc, b_enc, W_dec and b_dec ` +
        `(the file has: ${[...file.entries.keys()].join(", ") || "no tensors"}).`
    );
  }
  const unexpected = [...file.entries.keys()].filter((n) => !(n in shapes) && n !== "scaling_factor");
  if (unexpected.length > 0) {
    throw new Error(`${file.path} has tensors a standard SAE does not: ${unexpected.join(", ")}. The config may describe another architecture.`);
  }
  for (const n of names) {
    const actual = file.entries.get(n)!.shape;
    if (!sameShape(actual, shapes[n])) {
      const transposed = actual.length === 2 && sameShape([actual[1], actual[0]], shapes[n]) ? " (it is stored transposed)" : "";
      throw new Error(
        `${file.path}: "${n}" has shape ${shapeString(actual)}, but ${cfgPath} (d_in ${cfg.dIn}, d_sae ${cfg.dSae}) needs ` +
          `${shapeString(shapes[n])}${transposed}. The weights and the config do not belong together.`
      );
    }
  }
  checkWeightDtypes(file, [...file.entries.keys()]);
}

/**
 * Reads one tensor onto the backend: F32 straight into its memory, F16/BF16 widened on the host first.
 * With `finite`, a NaN or infinite value is an error naming the tensor and position (as for the model).
 */
function upload(file: SafetensorsFile, fd: number, name: string, finite: boolean): tf.Tensor {
  const entry = file.entries.get(name)!;
  const check = (bytes: Uint8Array) => finite && checkFinite(bytes, name, entry.shape, file.path);
  if (entry.dtype === "F32") {
    return uploadFloat32(entry.shape, (bytes) => {
      readF32Into(file, fd, name, bytes);
      check(bytes);
    });
  }
  const host = readTensor(file, fd, name);
  check(new Uint8Array(host.data.buffer, host.data.byteOffset, host.data.byteLength));
  return tf.tensor(host.data, host.shape, "float32");
}

/** Reads every tensor of `names` from `file`, all or nothing (on failure none stays allocated). */
function uploadAll(file: SafetensorsFile, names: readonly string[], finite: boolean): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  const fd = fs.openSync(file.path, "r");
  try {
    for (const n of names) out.set(n, upload(file, fd, n, finite));
    return out;
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  } finally {
    fs.closeSync(fd);
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    const what = err instanceof SyntaxError ? `it is not valid JSON (${err.message}).` : `${(err as Error).message}.`;
    throw new Error(`Cannot read SAE config ${file}: ${what}${err instanceof SyntaxError ? corruptFileHint(file) : ""}`);
  }
}

/** Parses, checks and uploads an SAE's files. Nothing is uploaded unless all of them check out. */
export function loadSaeFiles(files: SaeFiles): LoadedSaeFiles {
  const { cfg, cfgDict } = saeConfigFromDict(readJson(files.cfgPath), files.cfgPath);
  const weights = openSafetensors(files.weightsPath);
  checkWeights(weights, cfg, files.cfgPath);
  const sparsityFile = files.sparsityPath === null ? null : openSafetensors(files.sparsityPath);
  if (sparsityFile) {
    const entry = sparsityFile.entries.get("sparsity");
    if (!entry || !sameShape(entry.shape, [cfg.dSae])) {
      throw new Error(
        `${sparsityFile.path} should hold "sparsity" of shape [${cfg.dSae}] (d_sae), but has ` +
          `${entry ? `shape ${shapeString(entry.shape)}` : `only ${[...sparsityFile.entries.keys()].join(", ") || "no tensors"}`}. ` +
          `Delete it to load the SAE without sparsity.`
      );
    }
    checkWeightDtypes(sparsityFile, ["sparsity"]);
  }
  const names = ["W_enc", "b_enc", "W_dec", "b_dec", ...(weights.entries.has("scaling_factor") ? ["scaling_factor"] : [])];
  const tensors = uploadAll(weights, names, true);
  let sparsity: tf.Tensor1D | null = null;
  try {
    checkScalingFactor(tensors, weights.path);
    // Not checked for finiteness: a log10 frequency of a dead feature may be -Infinity.
    if (sparsityFile) sparsity = uploadAll(sparsityFile, ["sparsity"], false).get("sparsity") as tf.Tensor1D;
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  const params = {
    W_enc: tensors.get("W_enc") as tf.Tensor2D,
    b_enc: tensors.get("b_enc") as tf.Tensor1D,
    W_dec: tensors.get("W_dec") as tf.Tensor2D,
    b_dec: tensors.get("b_dec") as tf.Tensor1D,
  };
  return { cfg, cfgDict, params, sparsity };
}

/** SAELens drops an all-ones `scaling_factor` (older saves carried one); any other value is not implemented here. */
function checkScalingFactor(tensors: Map<string, tf.Tensor>, file: string): void {
  const scaling = tensors.get("scaling_factor");
  if (!scaling) return;
  tensors.delete("scaling_factor");
  const values = scaling.dataSync();
  scaling.dispose();
  if (values.some((v) => v !== 1)) {
    throw new Error(
      `${file} has a "scaling_factor" that is not all ones (a finetuning scaling factor), which mechinterp-ts does not implement. ` +
        `Use an SAE without one.`
    );
  }
}
