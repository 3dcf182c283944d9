/**
 * From a model name or a local directory to a TransformerLens-named state dict on the host.
 *
 * A name is resolved in this order: $MODEL_OVERRIDE_DIR (a local directory that replaces any name,
 * with a warning), an existing directory, a GPT-2 preset (downloaded once from the Hugging Face hub
 * into its standard cache). Anything else fails at once, before any network access.
 */
import * as fs from "fs";
import * as path from "path";
import { HookedTransformerConfig, configFromHf } from "../model/config";
import { checkFinite } from "./checkFinite";
import { corruptFileHint } from "./corruptFileHint";
import { checkHfShapes, convertGpt2Weights, isIgnoredHfKey, normaliseHfKey } from "./convertGpt2";
import { tf } from "../backend";
import { TensorStateDict } from "./stateDict";
import { DownloadProgressCallback, downloadHubFile, stderrProgressBar } from "./hub";
import { findPreset, presetNames } from "./presets";
import { SafetensorsFile, checkWeightDtypes, openSafetensors, readF32Into, readTensor } from "./safetensors";
import { uploadFloat32 } from "./uploadTensor";

export const MODEL_OVERRIDE_ENV_VAR = "MODEL_OVERRIDE_DIR";
export const CONFIG_FILE = "config.json";
export const WEIGHTS_FILE = "model.safetensors";

export interface LoadCheckpointOptions {
  /** Hugging Face cache folder (default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub address (default $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Download progress; default: a progress bar on stderr. Pass `() => {}` for silence. */
  onProgress?: DownloadProgressCallback;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

export interface ModelSource {
  /** The name the model reports (`cfg.modelName`). */
  modelName: string;
  /** Folder holding config.json and model.safetensors. */
  configPath: string;
  weightsPath: string;
  /** True when the files came from the hub cache (a preset name), false for a local folder. */
  fromHub?: boolean;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function localSource(dir: string, modelName: string): ModelSource {
  const configPath = path.join(dir, CONFIG_FILE);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const missing = [configPath, weightsPath].filter((p) => !fs.existsSync(p));
  if (missing.length > 0) {
    const hasBin = fs.existsSync(path.join(dir, "pytorch_model.bin"));
    throw new Error(
      `Model directory ${dir} is missing ${missing.map((p) => path.basename(p)).join(" and ")}. ` +
        `A local model is a Hugging Face GPT-2 folder with config.json and model.safetensors` +
        (hasBin ? ` (pytorch_model.bin is not read: convert it with safetensors' convert script or save_pretrained(safe_serialization=True))` : "") +
        `.`
    );
  }
  return { modelName, configPath, weightsPath };
}

/** Where the files for `nameOrDir` come from; downloads a preset if it is not cached. */
export async function resolveModelSource(nameOrDir: string, options: LoadCheckpointOptions = {}): Promise<ModelSource> {
  const warn = options.warn ?? ((m: string) => process.stderr.write(m + "\n"));
  const override = process.env[MODEL_OVERRIDE_ENV_VAR];
  const preset = findPreset(nameOrDir);
  const displayName = preset?.officialName ?? path.basename(path.resolve(nameOrDir));
  if (override) {
    if (!isDirectory(override)) {
      throw new Error(`$${MODEL_OVERRIDE_ENV_VAR} is set to ${override}, which is not a directory. Unset it or point it at a folder with config.json and model.safetensors.`);
    }
    warn(`[mechinterp-ts] warning: $${MODEL_OVERRIDE_ENV_VAR} is set, so "${nameOrDir}" is loaded from ${path.resolve(override)} instead.`);
    return localSource(override, displayName);
  }
  if (isDirectory(nameOrDir)) return localSource(nameOrDir, displayName);
  if (!preset) {
    throw new Error(
      `Unknown model "${nameOrDir}": it is not a directory and not a known model name. ` +
        `Known names: ${presetNames().join(", ")}. For a local checkpoint pass a folder with config.json and model.safetensors.`
    );
  }
  const hubOptions = { cacheDir: options.cacheDir, endpoint: options.endpoint, onProgress: options.onProgress ?? stderrProgressBar() };
  const configPath = await downloadHubFile(preset.hfRepo, CONFIG_FILE, hubOptions);
  const weightsPath = await downloadHubFile(preset.hfRepo, WEIGHTS_FILE, hubOptions);
  return { modelName: preset.officialName, configPath, weightsPath, fromHub: true };
}

export interface LoadedCheckpoint {
  cfg: HookedTransformerConfig;
  /** TransformerLens names, unprocessed, on the active tfjs backend; owned by the caller. */
  stateDict: TensorStateDict;
}

/** The checkpoint's config (config.json only; nothing is uploaded). */
export function readCheckpointConfig(source: ModelSource): HookedTransformerConfig {
  let configJson: unknown;
  try {
    configJson = JSON.parse(fs.readFileSync(source.configPath, "utf8"));
  } catch (err) {
    const what = err instanceof SyntaxError ? `it is not valid JSON (${err.message}).` : `${(err as Error).message}.`;
    throw new Error(`Cannot read ${source.configPath}: ${what}${err instanceof SyntaxError ? corruptFileHint(source.configPath) : ""}`);
  }
  return configFromHf(configJson, source.modelName, source.configPath);
}

/**
 * Reads config.json and model.safetensors, checks them against each other, uploads the tensors to
 * the active backend and converts them to TransformerLens names. Nothing is uploaded unless the
 * whole file checks out, and on any failure every uploaded tensor is freed.
 */
export function loadCheckpoint(source: ModelSource, options: Pick<LoadCheckpointOptions, "warn"> = {}): LoadedCheckpoint {
  const warn = options.warn ?? ((m: string) => process.stderr.write(m + "\n"));
  const cfg = readCheckpointConfig(source);
  const file: SafetensorsFile = openSafetensors(source.weightsPath);
  const keyOf = new Map<string, string>(); // normalised key → key in the file
  for (const key of file.entries.keys()) {
    const norm = normaliseHfKey(key);
    if (keyOf.has(norm)) throw new Error(`${source.weightsPath} has both "${keyOf.get(norm)}" and "${key}"; keep one.`);
    keyOf.set(norm, key);
  }
  const shapes = new Map([...keyOf].map(([norm, key]) => [norm, file.entries.get(key)!.shape]));
  const unexpected = checkHfShapes(shapes, cfg, source.weightsPath);
  if (unexpected.length > 0) {
    warn(`[mechinterp-ts] warning: ignoring ${unexpected.length} unexpected tensor(s) in ${source.weightsPath}: ${unexpected.slice(0, 5).join(", ")}${unexpected.length > 5 ? ", ..." : ""}`);
  }
  const wanted = [...keyOf].filter(([norm]) => !isIgnoredHfKey(norm) && !unexpected.includes(norm));
  checkWeightDtypes(file, wanted.map(([, key]) => key)); // before anything is uploaded
  const hf: TensorStateDict = new Map();
  const fd = fs.openSync(source.weightsPath, "r");
  try {
    for (const [norm, key] of wanted) {
      const entry = file.entries.get(key)!;
      if (entry.dtype === "F32") {
        hf.set(norm, uploadFloat32(entry.shape, (bytes) => {
          readF32Into(file, fd, key, bytes);
          checkFinite(bytes, key, entry.shape, source.weightsPath);
        }));
      } else {
        const host = readTensor(file, fd, key);
        checkFinite(new Uint8Array(host.data.buffer, host.data.byteOffset, host.data.byteLength), key, entry.shape, source.weightsPath);
        hf.set(norm, tf.tensor(host.data, host.shape, "float32"));
      }
    }
    return { cfg, stateDict: convertGpt2Weights(hf, cfg, { consume: true }) };
  } catch (err) {
    for (const t of hf.values()) if (!t.isDisposed) t.dispose();
    throw err;
  } finally {
    fs.closeSync(fd);
  }
}
