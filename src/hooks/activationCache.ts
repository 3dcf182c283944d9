/**
 * ActivationCache: the activations of one forward pass, keyed by full hook name, in the order the
 * forward pass produced them (as TransformerLens's `cache.cache_dict`). The cache owns its tensors:
 * `dispose()` frees them all; a cache nobody disposes is freed once unreachable (each tensor on its
 * own, so an activation taken out with `get` stays valid while a variable holds it).
 *
 * Some entries may be lazy (see lazyActivation.ts): attention scores and patterns, MLP hook_post and
 * LayerNorm hook_normalized are computed from other cached activations the first time `get` (or
 * iteration, `values`, `entries`) reads them, with the same values the forward pass would have
 * recorded. `size`, `keys()` and `has()` never compute anything; `dispose()` frees computed and
 * uncomputed entries alike.
 */
import { tf } from "../backend";
import { closestNames, getActName } from "./actNames";
import { LazyActivation } from "./lazyActivation";
import { releaseAllWhenUnreachable, releaseWhenUnreachable } from "../memory/resultLedger";

/** What the forward pass hands a cache: a tensor, or one to compute when first read. */
export type CachedActivation = tf.Tensor | LazyActivation;

/** Short names (get_act_name aliases) whose activations are per head: [batch, head, query, key] or [batch, pos, head, d_head]. */
export type PerHeadActName = "pattern" | "attn" | "attn_scores" | "attn_logits" | "q" | "k" | "v" | "z" | "query" | "key" | "value";
/** Full names of the per-head activations. */
export type PerHeadHookName = `blocks.${number}.attn.hook_${"q" | "k" | "v" | "z" | "pattern" | "attn_scores"}`;
/** Rank of a cached activation: 4-D per-head tensors and 3-D [batch, pos, ...] others; one less without the batch axis. */
export type PerHeadTensor<Batched extends boolean> = Batched extends true ? tf.Tensor4D : tf.Tensor3D;
export type PositionTensor<Batched extends boolean> = Batched extends true ? tf.Tensor3D : tf.Tensor2D;

export class ActivationCache<Batched extends boolean = true> {
  private readonly store: Map<string, CachedActivation>;
  private disposed = false;

  /**
   * @param activations full hook name → tensor or lazy activation; ownership passes to the cache.
   * @param nLayers used to resolve negative layer indices.
   */
  constructor(activations: Map<string, CachedActivation>, private readonly nLayers: number, readonly hasBatchDim: boolean = true) {
    this.store = activations;
    // Freed once unreachable (a re-run cell): see src/memory/resultLedger.ts.
    releaseAllWhenUnreachable(
      [...activations.values()].flatMap((a) => (a instanceof LazyActivation ? a.heldTensors() : [a])),
      "caches"
    );
  }

  /** Number of cached activations, as `len(cache)` in TransformerLens. */
  get size(): number {
    return this.store.size;
  }

  keys(): string[] {
    return [...this.store.keys()];
  }

  /** Every activation, in forward order (computes the lazy ones). */
  values(): tf.Tensor[] {
    return this.entries().map(([, t]) => t);
  }

  /** [name, activation] pairs in forward order (computes the lazy ones). */
  entries(): [string, tf.Tensor][] {
    this.checkAlive();
    return [...this.store.keys()].map((k) => [k, this.tensorAt(k)]);
  }

  [Symbol.iterator](): IterableIterator<[string, tf.Tensor]> {
    return this.entries()[Symbol.iterator]();
  }

  /** Whether the cache has this activation (same name resolution as `get`). */
  has(name: string, layer?: number, layerType?: string): boolean {
    return this.store.has(this.resolve(name, layer, layerType));
  }

  /**
   * An activation by full name (`"blocks.5.attn.hook_pattern"`) or by TransformerLens shorthand
   * (`get("pattern", 5)`, `get("scale", 3, "ln1")`, `get("resid_post", -1)`). The tensor stays owned
   * by the cache: do not dispose it; clone it to keep it past `cache.dispose()`.
   */
  get(name: PerHeadActName | PerHeadHookName, layer?: number, layerType?: string): PerHeadTensor<Batched>;
  get(name: string, layer?: number, layerType?: string): PositionTensor<Batched>;
  get(name: string, layer?: number, layerType?: string): tf.Tensor {
    this.checkAlive();
    const key = this.resolve(name, layer, layerType);
    if (!this.store.has(key)) {
      const asked = layer === undefined ? `"${name}"` : `("${name}", ${layer}${layerType ? `, "${layerType}"` : ""}) → "${key}"`;
      throw new Error(
        `No activation ${asked} in the cache. Closest names: ${closestNames(key, this.store.keys()).join(", ")}. ` +
          `(A runWithCache with a namesFilter keeps only the names it matched.)`
      );
    }
    return this.tensorAt(key);
  }

  /** The tensor under `key` (present), computed and stored in place (same order) if it was lazy. */
  private tensorAt(key: string): tf.Tensor {
    const entry = this.store.get(key)!;
    if (!(entry instanceof LazyActivation)) return entry;
    const t = releaseWhenUnreachable(entry.materialise(), "caches");
    this.store.set(key, t);
    return t;
  }

  private resolve(name: string, layer?: number, layerType?: string): string {
    if (layer === undefined && layerType === undefined && this.store.has(name)) return name;
    if (layer !== undefined) {
      if (!Number.isInteger(layer)) throw new Error(`Layer must be an integer, got ${layer}`);
      if (layer < 0) layer += this.nLayers;
      if (layer < 0 || layer >= this.nLayers) {
        throw new Error(`Layer ${layer} is out of range: the model has ${this.nLayers} layers (0..${this.nLayers - 1}, or -1..-${this.nLayers}).`);
      }
    }
    return getActName(name, layer, layerType);
  }

  /** A new cache with the batch dimension (of size 1) removed; the new cache owns copies. */
  removeBatchDim(): ActivationCache<false> {
    this.checkAlive();
    for (const [k, t] of this.store) {
      if (t.shape[0] !== 1) throw new Error(`removeBatchDim needs batch size 1, but "${k}" has shape [${t.shape.join(", ")}]`);
    }
    const out = new Map<string, CachedActivation>();
    try {
      for (const [k, t] of this.store) out.set(k, t instanceof LazyActivation ? t.map(t.shape.slice(1), (x) => tf.squeeze(x, [0])) : tf.squeeze(t, [0]));
    } catch (err) {
      for (const t of out.values()) t.dispose();
      throw err;
    }
    return new ActivationCache<false>(out, this.nLayers, false);
  }

  /**
   * The tensors this cache holds now, without computing anything: its tensors and what its lazy
   * entries are computed from (for keeping them past an enclosing tidy). Still owned by the cache.
   */
  heldTensors(): tf.Tensor[] {
    return [...this.store.values()].flatMap((a) => (a instanceof LazyActivation ? [...a.heldTensors()] : [a]));
  }

  dispose(): void {
    if (this.disposed) return;
    for (const t of this.store.values()) t.dispose();
    this.disposed = true;
  }

  toString(): string {
    return `ActivationCache with keys [${this.keys().slice(0, 6).join(", ")}${this.size > 6 ? ", ..." : ""}] (${this.size} tensors)`;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error("This ActivationCache was disposed; run the model again to get a new one.");
  }
}
