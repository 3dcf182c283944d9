/**
 * initBackend, told which model is coming: the backend is chosen from the model's size
 * (backendChoice.ts states the rule) and the result says why, for the notebook's "Using device" line.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BACKEND_ENV_VAR, BackendInfo, BackendName, initBackend as initBackendBase, tf } from "../backend";
import { configFromHf } from "../model/config";
import { MODEL_OVERRIDE_ENV_VAR, ModelSource, readCheckpointConfig } from "../weights/loadPretrained";
import { findPreset } from "../weights/presets";
import { BackendChoice, chooseBackend, gpt2ParameterCount } from "./backendChoice";
import { installHeapGuard, wasmBufferBytes, wasmTensorLimit } from "./heapGuard";
import { collectUnreachable } from "./resultLedger";

export interface ModelBackendInfo extends BackendInfo {
  /** Why this backend, e.g. "gpt2 (1.73 GB with working memory) fits in the wasm heap". */
  reason: string;
}

/** RAM this process may still take: MemAvailable, or the cgroup limit less what it uses when lower. */
export function availableRamBytes(): number {
  let free = os.freemem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (constrained && constrained > 0 && constrained < 2 ** 60) free = Math.min(free, constrained - process.memoryUsage.rss());
  return free;
}

function tensorflowInstalled(): boolean {
  if (tf.findBackendFactory("tensorflow") != null) return true;
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/** The parameter count of a preset name or a local folder's config.json, or undefined if unknown. */
export function modelParameters(nameOrDir: string): { name: string; parameters: number } | undefined {
  const override = process.env[MODEL_OVERRIDE_ENV_VAR];
  const dir = override || nameOrDir;
  const configPath = path.join(dir, "config.json");
  if (fs.existsSync(configPath)) {
    try {
      const cfg = configFromHf(JSON.parse(fs.readFileSync(configPath, "utf8")), path.basename(path.resolve(dir)), configPath);
      return { name: findPreset(nameOrDir)?.officialName ?? cfg.modelName, parameters: gpt2ParameterCount(cfg) };
    } catch {
      return undefined; // the load reports a broken config with its own message
    }
  }
  const preset = findPreset(nameOrDir);
  if (!preset) return undefined;
  const { nLayers, dModel } = preset.shape;
  return { name: preset.officialName, parameters: gpt2ParameterCount({ nLayers, dModel, dMlp: 4 * dModel, dVocab: 50257, nCtx: 1024 }) };
}

/** The choice for a model of `parameters`, with an explicit backend honoured (option first, then the environment). */
export function backendForModel(modelName: string, parameters: number, backend?: BackendName | string): BackendChoice {
  const fromEnv = process.env[BACKEND_ENV_VAR];
  const raw = backend ?? fromEnv;
  const requested = raw
    ? { backend: normalise(raw), source: backend ? `the backend option "${backend}"` : `$${BACKEND_ENV_VAR}=${fromEnv}` }
    : undefined;
  const current = currentBackend();
  if (current === "wasm") collectUnreachable();
  return chooseBackend({
    modelName,
    parameters,
    requested,
    current,
    tensorflowAvailable: tensorflowInstalled(),
    availableRamBytes: availableRamBytes(),
    wasmFreeBytes: wasmTensorLimit() - (current === "wasm" ? wasmBufferBytes() : 0),
  });
}

function normalise(name: string): BackendName {
  const lower = name.trim().toLowerCase();
  if (["node", "tfjs-node", "gpu", "cuda"].includes(lower)) return "tensorflow";
  return lower as BackendName; // initBackend rejects unknown names with the list
}

function currentBackend(): BackendName | undefined {
  try {
    const name = tf.engine().backendName as BackendName | undefined;
    return name && ["tensorflow", "wasm", "cpu"].includes(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * As initBackend, and with `model` (a preset name or a folder), the backend is chosen from that
 * model's size: `initBackend({ model: "gpt2-xl" })` picks cpu because XL does not fit the wasm heap.
 */
export async function initBackend(options: { backend?: BackendName | string; model?: string } = {}): Promise<ModelBackendInfo> {
  const size = options.model ? modelParameters(options.model) : undefined;
  if (!size) {
    const info = await initBackendBase({ backend: options.backend });
    installHeapGuard();
    return { ...info, reason: options.backend ? "as requested" : "the best backend available" };
  }
  const choice = backendForModel(size.name, size.parameters, options.backend);
  const info = await initBackendBase({ backend: choice.backend });
  installHeapGuard();
  return { ...info, reason: choice.reason };
}

/**
 * For fromPretrained: chooses the backend from the model's size before anything is downloaded (a
 * preset's size is known by name, a folder's from its config.json) or, failing that, from the
 * resolved checkpoint's config; then initialises it and installs the heap guard.
 */
export async function initBackendForLoad(
  nameOrDir: string,
  backend: BackendName | undefined,
  resolve: () => Promise<ModelSource>
): Promise<{ source: ModelSource; backendInfo: ModelBackendInfo }> {
  const known = modelParameters(nameOrDir);
  let choice = known ? backendForModel(known.name, known.parameters, backend) : undefined;
  const source = await resolve();
  choice ??= backendForModel(source.modelName, gpt2ParameterCount(readCheckpointConfig(source)), backend);
  const info = await initBackendBase({ backend: choice.backend });
  installHeapGuard();
  return { source, backendInfo: { ...info, reason: choice.reason } };
}
