/**
 * Which backend can hold a model, decided from its size before anything is loaded.
 *
 * The rule (stated in the README): a model needs 4 bytes per parameter for its weights plus
 * WORKING_BYTES (1 GiB) for loading and for runs (activations, a cache at a few hundred tokens).
 * - If that is more than the machine's available RAM, loading fails at once with both numbers.
 * - Without an explicit choice: the backend already in use if the model fits there, else
 *   `tensorflow` (tfjs-node, when installed: no heap limit), else `wasm` if weights + working memory
 *   fit in what is left of its 4 GB heap, else `cpu` (plain JavaScript, limited by RAM only, slower).
 * - An explicit backend (option or $MECHINTERP_BACKEND) is honoured whenever the weights can load
 *   there: on wasm, the weights plus 10% (loading's largest transient) must fit in the free heap, or
 *   loading fails at once with the numbers and the way out (cpu). Runs then have what is left; one
 *   that does not fit is an OutOfMemoryError, not a dead backend.
 */
import type { BackendName } from "../backend";
import { gb } from "./heapGuard";

export const WORKING_BYTES = 2 ** 30;
/** Loading holds the weights plus its largest transient (a transposed copy while converting/processing). */
export const LOAD_FACTOR = 1.1;

export interface BackendChoiceInput {
  modelName: string;
  /** TransformerLens's parameter count (W_U counted apart from W_E). */
  parameters: number;
  /** An explicit choice (the backend/device option or $MECHINTERP_BACKEND), and where it came from. */
  requested?: { backend: BackendName; source: string };
  /** The backend already in use (tensors live there), if any. */
  current?: BackendName;
  /** Whether tfjs-node (the `tensorflow` backend) can be loaded here. */
  tensorflowAvailable: boolean;
  /** RAM the model may take (os.freemem(), or the cgroup's limit when lower). */
  availableRamBytes: number;
  /** What the wasm heap may still take for tensors (its limit minus buffers held now). */
  wasmFreeBytes: number;
}

export interface BackendChoice {
  backend: BackendName;
  /** Why, in a few words, for the "Using device" line. */
  reason: string;
}

export function chooseBackend(input: BackendChoiceInput): BackendChoice {
  const weights = 4 * input.parameters;
  const needed = weights + WORKING_BYTES;
  const sizeText = `${input.modelName} has ${(input.parameters / 1e6).toFixed(0)}M parameters: ${gb(weights)} of float32 weights + ${gb(WORKING_BYTES)} working memory = ${gb(needed)}`;
  if (needed > input.availableRamBytes) {
    throw new Error(
      `Cannot load ${input.modelName}: ${sizeText}, but this machine has ${gb(input.availableRamBytes)} of RAM available. ` +
        `Free memory (close other programs, dispose other models) or use a smaller model.`
    );
  }
  const wasmFits = needed <= input.wasmFreeBytes;
  const wasmText = `${gb(input.wasmFreeBytes)} free in the wasm heap (4 GB at most)`;
  if (input.requested) {
    const { backend, source } = input.requested;
    if (backend === "wasm" && weights * LOAD_FACTOR > input.wasmFreeBytes) {
      throw new Error(
        `Cannot load ${input.modelName} on the wasm backend (${source}): its float32 weights take ${gb(weights)} (${gb(weights * LOAD_FACTOR)} while loading), more than the ${wasmText}. ` +
          `Use the cpu backend ({ backend: "cpu" } or MECHINTERP_BACKEND=cpu), or leave the backend unset to have it chosen from the model's size.`
      );
    }
    const tight = backend === "wasm" && !wasmFits ? `; only ${gb(input.wasmFreeBytes - weights)} of the heap left for activations` : "";
    return { backend, reason: `${backend} as requested (${source})${tight}` };
  }
  const fits = (b: BackendName) => b !== "wasm" || wasmFits;
  if (input.current && fits(input.current) && (input.current !== "tensorflow" || input.tensorflowAvailable)) {
    return { backend: input.current, reason: `${input.current}, already in use, holds ${input.modelName} (${gb(needed)})` };
  }
  if (input.tensorflowAvailable) return { backend: "tensorflow", reason: `tfjs-node is installed (no heap limit)` };
  if (wasmFits) return { backend: "wasm", reason: `${input.modelName} (${gb(needed)} with working memory) fits in the wasm heap` };
  return {
    backend: "cpu",
    reason: `${input.modelName} needs ${gb(needed)}, more than the ${wasmText}, so the plain-JavaScript cpu backend (limited by RAM, slower)`,
  };
}

/**
 * TransformerLens's parameter count for a GPT-2 shape, after weight processing (LayerNorm folded:
 * no LN weights; b_U kept). Unprocessed models have 2 d_model more per LayerNorm, negligible here.
 */
export function gpt2ParameterCount(s: { nLayers: number; dModel: number; dMlp: number; dVocab: number; nCtx: number }): number {
  const { nLayers: L, dModel: d, dMlp: m, dVocab: v, nCtx: n } = s;
  const perLayer = 4 * d * d + 4 * d + 2 * d * m + m + d;
  return v * d + n * d + L * perLayer + d * v + v;
}
