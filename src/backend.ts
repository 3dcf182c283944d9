/**
 * The TensorFlow.js instance every part of this package computes with, and the choice of backend.
 *
 * Order of preference: `tensorflow` (@tensorflow/tfjs-node-gpu, native, CUDA when present), then
 * `wasm` (@tensorflow/tfjs-backend-wasm, SIMD), then `cpu` (pure JavaScript). The environment
 * variable MECHINTERP_BACKEND or the `backend` option forces one.
 *
 * Notebooks must use the `tf` exported here (re-exported from the package root): a second copy of
 * tfjs-core would hold its own registry of backends and tensors.
 */
// The full @tensorflow/tfjs (core, cpu backend, chained methods such as t.sum(), the same API
// as in the tfjs docs); tfjs-node-gpu builds on this same package, so there is one instance.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installNativeKernels, nativeGemmLabel, nativeKernelsActive, nativeKernelsStatus, warnNativeKernelsMissing } from "./kernels/nativeKernels";

export { tf };

export type BackendName = "tensorflow" | "wasm" | "cpu";

export const BACKEND_ENV_VAR = "MECHINTERP_BACKEND";
/** Set to 0 to keep tfjs's own matrix multiply even when the native addon is built (for comparisons). */
export const NATIVE_MATMUL_ENV_VAR = "MECHINTERP_NATIVE_MATMUL";

export interface BackendInfo {
  /** tfjs backend name, as `tf.getBackend()` reports it. */
  backend: BackendName;
  /**
   * What a learner reads after "Using device:", e.g. "cpu (WebAssembly SIMD, native kernels: OpenBLAS)";
   * when the native kernels are missing it says so, why, and the command that builds them.
   */
  device: string;
  /** Whether matrix multiplies go to the native addon (mechinterp-native-gemm: OpenBLAS, Accelerate or its portable SGEMM). */
  nativeMatMul: boolean;
}

/** Plugs the native kernels into wasm/cpu unless $MECHINTERP_NATIVE_MATMUL is 0; says once when they are missing. */
function setUpNativeMatMul(name: BackendName): void {
  if (name === "tensorflow" || process.env[NATIVE_MATMUL_ENV_VAR] === "0") return;
  if (!installNativeKernels(name)) warnNativeKernelsMissing();
}

/** The native-kernel part of a wasm/cpu device line: which, switched off, or missing with the fix. */
function nativeKernelsNote(backend: "wasm" | "cpu"): string {
  if (nativeKernelsActive(backend)) return `, native kernels: ${nativeGemmLabel()}`;
  if (process.env[NATIVE_MATMUL_ENV_VAR] === "0") return `, native kernels off: ${NATIVE_MATMUL_ENV_VAR}=0`;
  const status = nativeKernelsStatus();
  if (status.available) return ", native kernels off";
  return `; NO native kernels, several times slower: ${status.reason}; to build them run: ${status.fix}`;
}

const KNOWN_BACKENDS: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

let nativeLoadError: Error | undefined;
let nativeTried = false;

/** Loads @tensorflow/tfjs-node-gpu (or tfjs-node) once; it registers the `tensorflow` backend. */
function tryLoadNative(): boolean {
  if (!nativeTried) {
    nativeTried = true;
    for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      try {
        require(pkg);
        nativeLoadError = undefined;
        break;
      } catch (err) {
        nativeLoadError = err as Error;
      }
    }
  }
  return tf.findBackendFactory("tensorflow") != null;
}

function describe(backend: BackendName): string {
  switch (backend) {
    case "tensorflow": {
      // tfjs-node-gpu registers the same backend name; it is "cuda" only when a GPU is visible.
      let gpu = false;
      try {
        const be = tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } };
        gpu = be.binding?.isUsingGpuDevice?.() ?? false;
      } catch {
        gpu = false;
      }
      return gpu ? "cuda (tfjs-node-gpu)" : "cpu (tfjs-node, native TensorFlow)";
    }
    case "wasm": {
      const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
      return `cpu (WebAssembly${simd ? " SIMD" : ""}${nativeKernelsNote("wasm")})`;
    }
    case "cpu":
      return `cpu (pure JavaScript${nativeKernelsNote("cpu")})`;
  }
}

function parseBackendName(name: string, source: string): BackendName {
  const lower = name.trim().toLowerCase();
  const alias: Record<string, BackendName> = { node: "tensorflow", "tfjs-node": "tensorflow", gpu: "tensorflow", cuda: "tensorflow" };
  const resolved = (alias[lower] ?? lower) as BackendName;
  if (!KNOWN_BACKENDS.includes(resolved)) {
    throw new Error(`Unknown backend "${name}" (from ${source}). Use one of: ${KNOWN_BACKENDS.join(", ")}.`);
  }
  return resolved;
}

/** The backend this module chose or was told to use; undefined until the first initBackend. */
let chosen: BackendName | undefined;

/**
 * Selects and initialises a backend. Idempotent: later calls without a request keep the first
 * choice (switching backends would strand tensors that live on the old one).
 * @param options.backend forces a backend; otherwise $MECHINTERP_BACKEND, otherwise the best available.
 */
export async function initBackend(options: { backend?: BackendName | string } = {}): Promise<BackendInfo> {
  const requested = options.backend ?? process.env[BACKEND_ENV_VAR];
  let order: BackendName[];
  if (requested) {
    const name = parseBackendName(requested, options.backend ? "the backend option" : `$${BACKEND_ENV_VAR}`);
    if (name === "tensorflow" && !tryLoadNative()) {
      throw new Error(
        `Backend "tensorflow" was requested but @tensorflow/tfjs-node-gpu could not be loaded` +
          (nativeLoadError ? ` (${nativeLoadError.message.split("\n")[0]})` : "") +
          `. Install it with \`npm install @tensorflow/tfjs-node-gpu\` on a machine with internet access, or use "wasm".`
      );
    }
    order = [name];
  } else if (chosen) {
    order = [chosen];
  } else {
    order = tryLoadNative() ? ["tensorflow", "wasm", "cpu"] : ["wasm", "cpu"];
  }
  const errors: string[] = [];
  for (const name of order) {
    try {
      if (tf.engine().backendName === name || (await tf.setBackend(name))) {
        await tf.ready();
        chosen = name;
        setUpNativeMatMul(name);
        return { backend: name, device: describe(name), nativeMatMul: nativeKernelsActive(name) };
      }
      errors.push(`${name}: setBackend returned false`);
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`No TensorFlow.js backend could be initialised (${errors.join("; ")}).`);
}

/** The active backend, as `initBackend` would report it. */
export function backendInfo(): BackendInfo {
  const backend = tf.getBackend() as BackendName;
  return { backend, device: describe(backend), nativeMatMul: nativeKernelsActive(backend) };
}
