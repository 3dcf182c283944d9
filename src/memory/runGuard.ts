/**
 * The memory side of one forward pass: before it, make room (or refuse); after it, hand the results
 * out so they are freed once unreachable.
 */
import * as os from "os";
import { tf } from "../backend";
import { HookedTransformerConfig } from "../model/config";
import { asOutOfMemory, outOfMemoryError, wasmBufferBytes, wasmTensorLimit } from "./heapGuard";
import { collectUnreachable, releaseWhenUnreachable } from "./resultLedger";
import { runBytes } from "./runEstimate";

/** Unreachable results are collected before a run that would take tensors past this share of the backend's capacity. */
export const SOFT_FRACTION = 0.5;

/**
 * Runs `fn`, a forward pass over [batch, pos] tokens keeping the activations at `cachedNames`.
 * Before: frees unreachable results when the run would take the tensors past half the backend's
 * capacity, and refuses (OutOfMemoryError) a run whose kept tensors cannot fit in the wasm heap.
 * A failed allocation during the run comes back as an OutOfMemoryError too.
 */
export function guardedRun<T>(cfg: HookedTransformerConfig, batch: number, pos: number, cachedNames: string[], fn: () => T): T {
  const { kept, working } = runBytes(cfg, batch, pos, cachedNames);
  const wasm = tf.getBackend() === "wasm";
  const held = wasm ? wasmBufferBytes() : tf.memory().numBytes;
  const capacity = wasm ? wasmTensorLimit() : os.totalmem();
  if (held + kept + working > SOFT_FRACTION * capacity) collectUnreachable();
  if (wasm && wasmBufferBytes() + kept > wasmTensorLimit()) throw outOfMemoryError(kept, "wasm");
  return asOutOfMemory(fn, kept + working);
}

/**
 * Hands out a run's logits/loss and cached activations: registered to be freed once unreachable,
 * and kept out of an enclosing tf.tidy when the run was nested in another run's hook (that run's
 * block tidy would otherwise free them under the hook that asked for them).
 */
export function handOut(results: tf.Tensor[], cached: Iterable<tf.Tensor>, nested: boolean): void {
  for (const t of results) {
    if (nested) tf.keep(t);
    releaseWhenUnreachable(t, "results");
  }
  for (const t of cached) {
    if (nested) tf.keep(t);
    releaseWhenUnreachable(t, "caches");
  }
}
