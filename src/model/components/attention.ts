import { tf } from "../../backend";
import { HookPoint, Module } from "../../hooks/hookPoint";
import type { KeyValueCacheEntry } from "../../generation/kvCache";
import type { CachedActivation } from "../../hooks/activationCache";
import { LazyActivation } from "../../hooks/lazyActivation";
import { causalAttention } from "../fusedOps";
import { releaseWhenUnreachable } from "../../memory/resultLedger";

/**
 * Set by runWithCache on each layer for one run when its cache wants hook_attn_scores and/or
 * hook_pattern: instead of keeping them ([batch, head, query, key] each), the layer records lazy
 * activations computed from its q and k when first read. Whenever a hook sits on either point (it
 * could change them), the layer computes them now and records the tensors, as a recording hook would.
 */
export interface DeferredAttentionRecord {
  scores: boolean;
  pattern: boolean;
  record(name: string, activation: CachedActivation): void;
}

/** One layer's attention parameters in TransformerLens's shapes (owned by the model). */
export interface AttentionWeights {
  W_Q: tf.Tensor3D; // [n_heads, d_model, d_head]
  W_K: tf.Tensor3D; // [n_heads, d_model, d_head]
  W_V: tf.Tensor3D; // [n_heads, d_model, d_head]
  W_O: tf.Tensor3D; // [n_heads, d_head, d_model]
  b_Q: tf.Tensor2D; // [n_heads, d_head]
  b_K: tf.Tensor2D; // [n_heads, d_head]
  b_V: tf.Tensor2D; // [n_heads, d_head]
  b_O: tf.Tensor1D; // [d_model]
}

/**
 * Causal multi-head self-attention with TransformerLens's hook points.
 * For speed, each of Q, K and V is one matrix multiply over all heads, so the weights are stored
 * once, as [d_model, n_heads * d_head] (heads the slow index of the columns) with flat biases.
 * W_Q, W_K, W_V in TransformerLens's layout [n_heads, d_model, d_head] are derived from them on
 * first access and kept until dispose (a second copy only for those who ask).
 */
export class Attention extends Module {
  readonly hook_q = new HookPoint(); // [batch, pos, head_index, d_head]
  readonly hook_k = new HookPoint(); // [batch, pos, head_index, d_head]
  readonly hook_v = new HookPoint(); // [batch, pos, head_index, d_head]
  readonly hook_attn_scores = new HookPoint(); // [batch, head_index, query_pos, key_pos]
  readonly hook_pattern = new HookPoint(); // [batch, head_index, query_pos, key_pos]
  readonly hook_z = new HookPoint(); // [batch, pos, head_index, d_head]

  readonly W_O: tf.Tensor3D;
  readonly b_Q: tf.Tensor2D;
  readonly b_K: tf.Tensor2D;
  readonly b_V: tf.Tensor2D;
  readonly b_O: tf.Tensor1D;
  /** See DeferredAttentionRecord; undefined outside runWithCache. */
  deferred: DeferredAttentionRecord | undefined;
  /** Q, K, V weights as [d_model, n_heads * d_head] and biases [n_heads * d_head] (own data: see the note on vectors in HookedTransformer). Owned by this component. */
  readonly flat: { W: tf.Tensor2D; b: tf.Tensor1D }[];
  private readonly derived: (tf.Tensor3D | undefined)[] = [undefined, undefined, undefined];

  /**
   * Takes ownership of W_Q, W_K and W_V (freed here once laid out flat; read them back through the
   * getters); W_O and the biases stay the caller's.
   */
  constructor(weights: AttentionWeights, readonly nHeads: number, readonly dHead: number) {
    super();
    ({ W_O: this.W_O, b_Q: this.b_Q, b_K: this.b_K, b_V: this.b_V, b_O: this.b_O } = weights);
    this.flat = [
      [weights.W_Q, this.b_Q],
      [weights.W_K, this.b_K],
      [weights.W_V, this.b_V],
    ].map(([W, b]) => {
      const flat = tf.tidy(() => ({
        // [n_heads, d_model, d_head] → [d_model, n_heads * d_head]
        W: tf.reshape(tf.transpose(W, [1, 0, 2]), [W.shape[1], -1]) as tf.Tensor2D,
        b: tf.clone(tf.reshape(b, [-1])) as tf.Tensor1D,
      }));
      W.dispose();
      releaseWhenUnreachable(flat.W, "weights");
      releaseWhenUnreachable(flat.b, "weights");
      return flat;
    });
  }

  /** [n_heads, d_model, d_head], derived from the flat layout on first access; owned by this component. */
  get W_Q(): tf.Tensor3D { return this.headLayout(0); }
  get W_K(): tf.Tensor3D { return this.headLayout(1); }
  get W_V(): tf.Tensor3D { return this.headLayout(2); }

  /** A new [n_heads, d_model, d_head] copy of Q (0), K (1) or V (2) weights, owned by the caller. */
  headLayoutCopy(i: 0 | 1 | 2): tf.Tensor3D {
    const W = this.flat[i].W;
    return tf.tidy(() => tf.transpose(tf.reshape(W, [W.shape[0], this.nHeads, this.dHead]), [1, 0, 2]) as tf.Tensor3D);
  }

  private headLayout(i: 0 | 1 | 2): tf.Tensor3D {
    let t = this.derived[i];
    if (!t) {
      t = tf.keep(this.headLayoutCopy(i));
      releaseWhenUnreachable(t, "weights");
      this.derived[i] = t;
    }
    return t;
  }

  /** Whether W_Q/W_K/W_V have been derived (each is a d_model² copy). */
  get headLayoutCopies(): number {
    return this.derived.filter((t) => t !== undefined).length;
  }

  /**
   * @param x [batch, pos, d_model] (the normalized residual stream)
   * @param kvCache generation's key/value cache for this layer: the new positions' keys and values
   *   (after hook_k / hook_v) are appended and every cached position is attended to, so the pattern
   *   is [batch, head, pos, key_pos]
   * @returns [batch, pos, d_model], what the layer adds to the residual stream
   */
  forward(x: tf.Tensor3D, kvCache?: KeyValueCacheEntry): tf.Tensor3D {
    const [batch, pos, dModel] = x.shape;
    const H = this.nHeads;
    const E = this.dHead;
    const x2 = tf.reshape(x, [batch * pos, dModel]);
    // [batch*pos, H*E] → [batch, pos, head, d_head]
    const project = (i: number) => tf.reshape(tf.fused.matMul({ a: x2, b: this.flat[i].W, bias: this.flat[i].b }), [batch, pos, H, E]) as tf.Tensor4D;
    const q = this.hook_q.run(project(0));
    let k = this.hook_k.run(project(1));
    let v = this.hook_v.run(project(2));
    if (kvCache) [k, v] = kvCache.append(k, v); // [batch, key_pos, head, d_head]
    const keyPos = k.shape[1];

    // [batch, pos, head, d_head] → [batch*head, pos, d_head]
    const byHead = (t: tf.Tensor4D) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [batch * H, t.shape[1], E]) as tf.Tensor3D;
    // Deferred: nothing can change scores or pattern, so the cache gets them lazily from q and k.
    const d = this.deferred;
    const defer = d !== undefined && !kvCache && !this.hook_attn_scores.hasHooks && !this.hook_pattern.hasHooks;
    // Scores only when a hook (or the cache) wants them: the native kernel can skip them.
    const withScores = this.hook_attn_scores.hasHooks || (d !== undefined && d.scores && !defer);
    const computed = kvCache
      ? kvCache.attend(byHead(q), byHead(k), Math.sqrt(E), { withScores })
      : causalAttention(byHead(q), byHead(k), Math.sqrt(E), { withScores });
    const asHeads = (t: tf.Tensor3D) => tf.reshape(t, [batch, H, pos, keyPos]) as tf.Tensor4D; // [batch, head, query, key]
    let pattern = asHeads(computed.pattern);
    if (computed.scores) {
      const scores = asHeads(computed.scores);
      const hooked = this.hook_attn_scores.run(scores);
      if (d?.scores && !defer) d.record(this.hook_attn_scores.name, hooked);
      // A hook that replaced the scores gets a pattern computed from its replacement.
      if (hooked !== scores) pattern = tf.softmax(hooked) as tf.Tensor4D;
    }
    pattern = this.hook_pattern.run(pattern);
    if (d?.pattern && !defer) d.record(this.hook_pattern.name, pattern);
    if (defer) this.recordLazy(d, q, k, pattern.shape);
    const zByHead = tf.matMul(tf.reshape(pattern, [batch * H, pos, keyPos]), byHead(v)); // [batch*head, pos, d_head]
    const z = this.hook_z.run(tf.transpose(tf.reshape(zByHead, [batch, H, pos, E]), [0, 2, 1, 3]) as tf.Tensor4D);
    const out = tf.fused.matMul({ a: tf.reshape(z, [batch * pos, H * E]), b: tf.reshape(this.W_O, [H * E, dModel]), bias: this.b_O });
    return tf.reshape(out, [batch, pos, dModel]);
  }

  /**
   * Records lazy scores / pattern computed from `q` and `k` ([batch, pos, head, d_head], after their
   * hooks) by the same kernel the forward pass runs, so their values are the same bit for bit.
   */
  private recordLazy(d: DeferredAttentionRecord, q: tf.Tensor4D, k: tf.Tensor4D, shape: number[]): void {
    const [batch, pos, H, E] = q.shape;
    const byHead = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [batch * H, pos, E]) as tf.Tensor3D;
    const attend = (which: "scores" | "pattern") => ([q, k]: tf.Tensor[]) => {
      const c = causalAttention(byHead(q), byHead(k), Math.sqrt(E), { withScores: which === "scores" });
      return tf.reshape(which === "scores" ? c.scores! : c.pattern, shape);
    };
    if (d.scores) d.record(this.hook_attn_scores.name, new LazyActivation(shape, [q, k], attend("scores")));
    if (d.pattern) d.record(this.hook_pattern.name, new LazyActivation(shape, [q, k], attend("pattern")));
  }

  /** Frees what this component owns: the flat Q/K/V weights and biases and any derived W_Q/W_K/W_V. */
  dispose(): void {
    for (const { W, b } of this.flat) tf.dispose([W, b]);
    for (const t of this.derived) t?.dispose();
  }
}

