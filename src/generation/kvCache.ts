/**
 * The past key/value cache of a generation (TransformerLens's HookedTransformerKeyValueCache): each
 * layer keeps the keys and values of every position run so far, so a new token runs one position
 * and attends to all of them.
 *
 * It also carries the attention mask of the batch ([batch][position], 1 = a real token, 0 = left
 * padding of a shorter prompt): keys at padded positions are never attended to, and positions are
 * counted from each row's first real token (TransformerLens's offset position ids), so a padded
 * row generates what it would alone.
 *
 * Ownership: the cache owns every tensor it holds (`dispose()` frees them all). The keys and values
 * `append` returns belong to the cache and stay valid until the next append or dispose.
 */
import { tf } from "../backend";

/** One layer's cache; what the attention component talks to. */
export class KeyValueCacheEntry {
  private keys: tf.Tensor4D | undefined; // [batch, past_pos, head_index, d_head]
  private values: tf.Tensor4D | undefined; // [batch, past_pos, head_index, d_head]

  constructor(private readonly owner: KeyValueCache) {}

  /** Positions held. */
  get length(): number {
    return this.keys?.shape[1] ?? 0;
  }

  /**
   * Adds the new positions' keys and values (after their hooks, as TransformerLens appends).
   * @param k, v [batch, new_pos, head_index, d_head] (not taken over)
   * @returns keys and values of all positions, [batch, past_pos + new_pos, head_index, d_head], owned by the cache
   */
  append(k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const grow = (past: tf.Tensor4D | undefined, next: tf.Tensor4D): tf.Tensor4D => {
      const all = tf.keep(past ? (tf.concat([past, next], 1) as tf.Tensor4D) : tf.clone(next));
      past?.dispose();
      return all;
    };
    this.keys = grow(this.keys, k);
    this.values = grow(this.values, v);
    return [this.keys, this.values];
  }

  /**
   * Attention of the new queries over every cached key: scores = q·k / divisor, −∞ where the key
   * is after the query or is padding; pattern = softmax over keys (0 where a padded query has no
   * key at all, as TransformerLens replaces those NaNs).
   * @param q [batch*head, new_pos, d_head] @param k [batch*head, key_pos, d_head] (all positions)
   * @returns scores (when asked for) and pattern, [batch*head, new_pos, key_pos]
   */
  attend(q: tf.Tensor3D, k: tf.Tensor3D, divisor: number, { withScores }: { withScores: boolean }): { scores?: tf.Tensor3D; pattern: tf.Tensor3D } {
    const [bh, queryPos] = q.shape;
    const keyPos = k.shape[1];
    const batch = this.owner.batch;
    const { mask, emptyRows } = this.owner.maskFor(queryPos, keyPos);
    return tf.tidy(() => {
      const raw = tf.div(tf.matMul(q, k, false, true), divisor);
      const scores = tf.add(tf.reshape(raw, [batch, bh / batch, queryPos, keyPos]), mask); // [batch, head, query, key]
      let pattern = tf.softmax(scores);
      if (emptyRows) pattern = tf.where(tf.isNaN(pattern), tf.zerosLike(pattern), pattern);
      const flat = (t: tf.Tensor) => tf.reshape(t, [bh, queryPos, keyPos]) as tf.Tensor3D;
      return withScores ? { scores: flat(scores), pattern: flat(pattern) } : { pattern: flat(pattern) };
    });
  }

  dispose(): void {
    tf.dispose([this.keys, this.values].filter((t): t is tf.Tensor4D => t !== undefined));
    this.keys = this.values = undefined;
  }
}

/** The cache of every layer, plus the batch's attention mask. */
export class KeyValueCache {
  readonly entries: KeyValueCacheEntry[];
  /** [batch][position] 1 = real token, 0 = padding; covers every token given so far (see `extend`). */
  private readonly attentionMask: number[][];
  private memo: { key: string; mask: tf.Tensor4D; emptyRows: boolean } | undefined;

  /**
   * @param nLayers one entry per block
   * @param attentionMask [batch][prompt_pos], 1 for real tokens, 0 for left padding (copied)
   */
  constructor(nLayers: number, attentionMask: readonly (readonly number[])[]) {
    if (attentionMask.length === 0) throw new Error("A key/value cache needs a batch of at least one row.");
    this.attentionMask = attentionMask.map((row) => [...row]);
    this.entries = Array.from({ length: nLayers }, () => new KeyValueCacheEntry(this));
  }

  get batch(): number {
    return this.attentionMask.length;
  }

  /** Positions already run through the model (the offset of the next positions). */
  get length(): number {
    return this.entries[0]?.length ?? 0;
  }

  /** Records `count` new real tokens at the end of every row (before they are run). */
  extend(count = 1): void {
    for (const row of this.attentionMask) for (let i = 0; i < count; i++) row.push(1);
  }

  /**
   * Position ids of the tokens at [start, start + count): each row counts from its first real
   * token; padding gets position 0 and keep 0 (its positional embedding is zeroed, as TransformerLens does).
   * @returns ids and keep, each [batch][count]
   */
  positions(start: number, count: number): { ids: number[][]; keep: number[][] } {
    const ids: number[][] = [];
    const keep: number[][] = [];
    for (const row of this.attentionMask) {
      if (start + count > row.length) throw new Error(`Internal error: positions ${start}..${start + count} beyond the mask (${row.length}).`);
      let seen = 0;
      for (let t = 0; t < start; t++) seen += row[t];
      const r: number[] = [];
      const k: number[] = [];
      for (let t = start; t < start + count; t++) {
        seen += row[t];
        r.push(Math.max(seen - 1, 0));
        k.push(row[t]);
      }
      ids.push(r);
      keep.push(k);
    }
    return { ids, keep };
  }

  /**
   * The additive mask for queries at the last `queryPos` of `keyPos` positions: 0 where the key
   * is a real token at or before the query, −∞ elsewhere. Made once per step, owned by the cache.
   * @returns mask [batch, 1, query, key]; emptyRows: whether some query sees no key at all
   */
  maskFor(queryPos: number, keyPos: number): { mask: tf.Tensor4D; emptyRows: boolean } {
    const key = `${queryPos}x${keyPos}`;
    if (this.memo?.key === key) return this.memo;
    const batch = this.batch;
    const past = keyPos - queryPos;
    const data = new Float32Array(batch * queryPos * keyPos);
    let emptyRows = false;
    for (let b = 0; b < batch; b++) {
      const row = this.attentionMask[b];
      if (row.length < keyPos) throw new Error(`Internal error: the attention mask has ${row.length} positions, the keys ${keyPos}.`);
      for (let q = 0; q < queryPos; q++) {
        let any = false;
        for (let j = 0; j < keyPos; j++) {
          const ok = j <= past + q && row[j] === 1;
          any ||= ok;
          if (!ok) data[(b * queryPos + q) * keyPos + j] = -Infinity;
        }
        if (!any) emptyRows = true;
      }
    }
    this.memo?.mask.dispose();
    this.memo = { key, mask: tf.keep(tf.tensor4d(data, [batch, 1, queryPos, keyPos])), emptyRows };
    return this.memo;
  }

  /** Frees every key, value and mask the cache holds. */
  dispose(): void {
    for (const e of this.entries) e.dispose();
    this.memo?.mask.dispose();
    this.memo = undefined;
  }
}
