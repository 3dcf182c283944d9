/**
 * Running out of memory is an Error, not a dead backend.
 *
 * The wasm backend keeps every tensor in one WebAssembly heap of at most 4 GiB. When its allocator
 * cannot grow, malloc returns 0 and tfjs writes through that null pointer ("memory access out of
 * bounds"), or an allocation inside a kernel aborts the module ("Aborted()"), after which nothing
 * on that backend works again. The guard wraps the heap's malloc as tfjs's JavaScript calls it (every
 * tensor buffer): an allocation that would take the tensor buffers past the limit (default: the
 * heap's maximum less a reserve for the kernels' own scratch memory) first frees unreachable results
 * (resultLedger), and if it still does not fit, throws an OutOfMemoryError before anything is
 * written. tfjs's bookkeeping is untouched (the tensor was never created), so the next call works.
 *
 * On the cpu and tensorflow backends buffers are ordinary JavaScript/native memory; a failed
 * allocation there (a RangeError) is turned into the same error by `asOutOfMemory`.
 */
import { tf } from "../backend";
import { collectUnreachable, heldBytes } from "./resultLedger";

/** The wasm heap's maximum size (tfjs-backend-wasm 4.22: 65535 pages of 64 KiB). */
export const WASM_HEAP_MAX_BYTES = 4294901760;
/** Kept free for allocations the kernels make themselves (scratch buffers, XNNPACK's operators). */
export const WASM_KERNEL_RESERVE_BYTES = 256 * 2 ** 20;

interface WasmModule {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
}

/** Bytes as a learner reads them: "3.35 GB", "13.2 MB", "4.1 kB" (powers of 10). */
export function gb(bytes: number): string {
  if (Math.abs(bytes) >= 0.1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (Math.abs(bytes) >= 0.1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e3).toFixed(1)} kB`;
}

/** Thrown when tensors do not fit; the backend and every model on it still work. */
export class OutOfMemoryError extends Error {
  constructor(message: string, readonly requestedBytes: number, readonly heldTotalBytes: number) {
    super(message);
    this.name = "OutOfMemoryError";
  }
}

let limitOverride: number | undefined;
let guarded: WasmModule | undefined;
const sizes = new Map<number, number>();
let bufferBytes = 0;

/** The limit on tensor buffers in the wasm heap, in bytes. */
export function wasmTensorLimit(): number {
  return limitOverride ?? WASM_HEAP_MAX_BYTES - WASM_KERNEL_RESERVE_BYTES;
}

/**
 * Sets a smaller limit on the wasm heap's tensor buffers (for tests, or to leave room for other
 * work); `undefined` restores the default (heap maximum − 256 MiB). Affects the wasm backend only.
 */
export function setWasmTensorLimit(bytes: number | undefined): void {
  if (bytes !== undefined && !(Number.isFinite(bytes) && bytes > 0)) throw new Error(`setWasmTensorLimit takes a positive number of bytes or undefined; got ${bytes}.`);
  limitOverride = bytes;
}

/** Bytes of tensor buffers the wasm heap holds now (allocated through the guard); 0 before it is installed. */
export function wasmBufferBytes(): number {
  return bufferBytes;
}

/**
 * tfjs-backend-wasm's Emscripten glue adds process listeners that rethrow every uncaught exception
 * and unhandled rejection, which ends the process even where the host handles them: under tslab, a
 * stray asynchronous error (e.g. its ZeroMQ socket reporting "busy") killed the kernel after ~150
 * re-runs, and in scripts they exit with code 7. Removing them restores the host's (or Node's own)
 * handling; nothing of the wasm module depends on them.
 */
function removeRethrowingListeners(): void {
  const rethrows = (listener: (...args: never[]) => unknown): boolean => {
    const source = Function.prototype.toString.call(listener).replace(/\s+/g, " ");
    return /instanceof ExitStatus\) ?\) ?\{ ?throw ex;? ?\}/.test(source) || /^function ?\(reason\) ?\{ ?throw reason;? ?\}$/.test(source);
  };
  for (const l of process.listeners("uncaughtException")) if (rethrows(l)) process.removeListener("uncaughtException", l);
  for (const l of process.listeners("unhandledRejection")) if (rethrows(l)) process.removeListener("unhandledRejection", l);
}

/** Installs the guard on the wasm backend once it is initialised (idempotent; a no-op on other backends). */
export function installHeapGuard(): void {
  if (tf.getBackend() !== "wasm") return;
  removeRethrowingListeners();
  const wasm = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
  if (!wasm || guarded === wasm) return;
  guarded = wasm;
  // Emscripten's exports start as stubs that replace themselves with the raw export on first call
  // (which would overwrite a wrapper): call each once so the wrapper stays in place.
  wasm._free(wasm._malloc(8));
  const malloc = wasm._malloc.bind(wasm);
  const free = wasm._free.bind(wasm);
  wasm._malloc = (n: number): number => {
    if (bufferBytes + n > wasmTensorLimit()) {
      collectUnreachable();
      if (bufferBytes + n > wasmTensorLimit()) throw outOfMemoryError(n, "wasm");
    }
    let p = malloc(n);
    if (p === 0 && n > 0) {
      // The allocator could not grow (fragmentation, or the heap's maximum): free what we can, retry.
      collectUnreachable();
      p = malloc(n);
      if (p === 0) throw outOfMemoryError(n, "wasm");
    }
    sizes.set(p, n);
    bufferBytes += n;
    return p;
  };
  wasm._free = (p: number): void => {
    const n = sizes.get(p);
    if (n !== undefined) {
      sizes.delete(p);
      bufferBytes -= n;
    }
    free(p);
  };
}

/** The capacity the error message quotes for the active backend. */
function capacityText(backend: string): string {
  if (backend === "wasm") {
    const limit = wasmTensorLimit();
    return limitOverride !== undefined ? `its tensor limit (${gb(limit)}, set by setWasmTensorLimit)` : `its 4 GB heap (${gb(limit)} for tensors)`;
  }
  return "this machine's free memory";
}

/**
 * The error for an allocation of `requested` bytes that does not fit: what is held and by what,
 * and what to do.
 */
export function outOfMemoryError(requested: number, backend: string = tf.getBackend()): OutOfMemoryError {
  const held = heldBytes();
  const total = backend === "wasm" ? Math.max(bufferBytes, held.total) : Math.max(tf.memory().numBytes, held.total);
  const other = Math.max(0, total - held.weights - held.caches - held.results);
  const advice = [
    "dispose caches and results you no longer need (cache.dispose(), logits.dispose(), or run the cell in tf.tidy)",
    'keep fewer activations (runWithCache(tokens, { namesFilter: ["blocks.5.attn.hook_pattern"] }))',
    "use a shorter prompt",
  ];
  if (backend === "wasm") advice.push('or load the model on the cpu backend (HookedTransformer.fromPretrained(name, { backend: "cpu" }), or MECHINTERP_BACKEND=cpu), which is limited by RAM instead of the 4 GB heap');
  const message =
    `Out of memory on the ${backend} backend: ${gb(requested)} more was needed, but ${capacityText(backend)} already holds ${gb(total)} ` +
    `(model weights ${gb(held.weights)}, activation caches ${gb(held.caches)}, returned logits/losses ${gb(held.results)}, other tensors ${gb(other)}). ` +
    `Nothing was allocated and the model still works. To make room: ${advice.join("; ")}. ` +
    `(Results of earlier cells that nothing refers to any more are freed automatically; results still held by variables are not.)`;
  return new OutOfMemoryError(message, requested, total);
}

/** Whether `err` is a failed allocation of the cpu/tensorflow backends (a RangeError from ArrayBuffer). */
function isAllocationFailure(err: unknown): boolean {
  return err instanceof RangeError && /allocation failed|Array buffer|Invalid typed array length|out of memory/i.test(err.message);
}

/**
 * Runs `fn`; a failed allocation comes back as an OutOfMemoryError with the breakdown, after the
 * unreachable results are freed (a retry then has the room they held).
 */
export function asOutOfMemory<T>(fn: () => T, requestedBytes: number): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof OutOfMemoryError || !isAllocationFailure(err)) throw err;
    collectUnreachable();
    throw outOfMemoryError(requestedBytes);
  }
}
