/**
 * Released when unreachable: the tensors the library hands out (logits, losses, cached
 * activations, model weights) are freed once the program can no longer reach them, so re-running a
 * notebook cell does not keep the previous run's tensors. `dispose()` and `tf.tidy` work exactly as
 * before; this only catches what nobody disposed.
 *
 * How: each handed-out tensor is registered in a FinalizationRegistry whose held value is a small
 * entry (the tensor's dataId, size and dtype, never the tensor itself, which would keep it alive).
 * When the tensor object is collected, the entry alone is enough for tfjs's engine to free the data
 * and keep its counts (tf.memory()) right. An explicit `dispose()` unregisters it first (an own
 * `dispose` on the instance wraps the prototype's), so nothing is freed twice.
 *
 * Collection normally happens whenever V8 runs a full GC; `collectUnreachable()` forces one
 * (through `--expose-gc`, set at run time) and frees synchronously what it found unreachable (via
 * WeakRefs). Tensors created or looked at in the current synchronous job (one notebook cell, one
 * loop) stay alive until that job ends: that is how WeakRefs are specified, so a loop that drops
 * its results without disposing them is freed only after the cell.
 */
import * as v8 from "v8";
import * as vm from "vm";
import { tf } from "../backend";

/** What a handed-out tensor is, for the out-of-memory breakdown. */
export type HeldKind = "weights" | "caches" | "results";

interface Entry {
  readonly ref: WeakRef<tf.Tensor>;
  /** What tfjs's engine.disposeTensor reads (dataId, size, dtype, shape). */
  readonly stub: { dataId: object; size: number; dtype: tf.DataType; shape: number[] };
  readonly kind: HeldKind;
  readonly bytes: number;
}

const entries = new Map<number, Entry>();
const idOf = new WeakMap<tf.Tensor, number>();
let nextId = 1;
let releasedTotal = 0;

function release(id: number): void {
  const entry = entries.get(id);
  if (!entry) return;
  entries.delete(id);
  releasedTotal++;
  // The engine frees the data (or drops one reference to data shared with a live view) and
  // lowers numTensors/numBytes, as tensor.dispose() would have.
  tf.engine().disposeTensor(entry.stub as unknown as tf.Tensor);
}

const registry = new FinalizationRegistry<number>(release);

/**
 * Registers `t` to be freed when unreachable. Idempotent; returns `t`.
 * Ownership does not change: the caller may still dispose it (or a tf.tidy may).
 */
export function releaseWhenUnreachable<T extends tf.Tensor>(t: T, kind: HeldKind): T {
  if (t.isDisposed || idOf.has(t)) return t;
  const id = nextId++;
  idOf.set(t, id);
  const bytes = t.dtype === "string" ? 0 : t.size * (t.dtype === "complex64" ? 8 : 4);
  entries.set(id, { ref: new WeakRef(t), stub: { dataId: t.dataId, size: t.size, dtype: t.dtype, shape: t.shape }, kind, bytes });
  registry.register(t, id, t);
  const protoDispose = Object.getPrototypeOf(t).dispose as (this: tf.Tensor) => void;
  Object.defineProperty(t, "dispose", {
    configurable: true,
    writable: true,
    enumerable: false,
    value(this: tf.Tensor): void {
      if (entries.delete(id)) registry.unregister(this);
      protoDispose.call(this);
    },
  });
  return t;
}

/** Registers every tensor of a list or map's values (see releaseWhenUnreachable). */
export function releaseAllWhenUnreachable(ts: Iterable<tf.Tensor>, kind: HeldKind): void {
  for (const t of ts) releaseWhenUnreachable(t, kind);
}

let gcFn: (() => void) | null | undefined;

/** V8's full collection, made available at run time (no node flag needed); null if it cannot be. */
function fullGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return (gcFn = exposed);
  try {
    v8.setFlagsFromString("--expose-gc");
    gcFn = vm.runInNewContext("gc") as () => void;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/**
 * Runs a full garbage collection and frees, now, every handed-out tensor it found unreachable.
 * @returns how many tensors and bytes were freed.
 */
export function collectUnreachable(): { tensors: number; bytes: number } {
  const gc = fullGc();
  if (gc) gc();
  let tensors = 0;
  let bytes = 0;
  for (const [id, entry] of [...entries]) {
    if (entry.ref.deref() !== undefined) continue;
    tensors++;
    bytes += entry.bytes;
    release(id);
  }
  return { tensors, bytes };
}

/**
 * Bytes of handed-out tensors not yet freed, by kind (a view sharing data with another tensor is
 * counted once per data buffer).
 */
export function heldBytes(): Record<HeldKind, number> & { total: number } {
  const out = { weights: 0, caches: 0, results: 0, total: 0 };
  const seen = new Set<object>();
  for (const e of entries.values()) {
    if (seen.has(e.stub.dataId)) continue;
    seen.add(e.stub.dataId);
    out[e.kind] += e.bytes;
    out.total += e.bytes;
  }
  return out;
}

/** Counters for tests and the bench: tensors registered and not yet freed, and freed by the ledger so far. */
export function ledgerStats(): { tracked: number; releasedWhenUnreachable: number } {
  return { tracked: entries.size, releasedWhenUnreachable: releasedTotal };
}
