/**
 * `setIdx(t, index, value)`: numpy/torch's `t[index] = value` without mutation — an edited copy.
 * The index items are those of `idx` (./indexSpec.ts).
 *
 * How: a boolean mask of the selected region, the product of one small 0/1 vector per indexed
 * dimension, and `tf.where(mask, value, t)`. A tensor value is first broadcast to the selected block
 * and spread to the full shape with one gather per dimension whose selection is several positions
 * but not the whole dimension. The cost is a few element-wise passes over `t` (about 2.5× a `tf.add`
 * of two such tensors on wasm): cheap enough for a hook on [batch, pos, head_index, d_head]
 * activations (`node dist/scripts/benchTensorEdits.js`). Infinities and NaNs in `t` or `value` are
 * copied as they are (no arithmetic blend), so attention scores with -inf can be edited.
 *
 * Ownership: returns a new tensor owned by the caller; `t` and `value` are neither changed nor disposed.
 */
import { tf } from "../backend";
import { parseIndex, type DimSelection, type IndexItem } from "./indexSpec";
import { maskWrite } from "./mask";

function describe(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** The positions a selection covers along its dimension. */
function positions(d: DimSelection): number[] {
  if (d.kind === "int") return [d.index];
  if (d.kind === "range") return Array.from({ length: d.length }, (_, i) => d.start + i);
  return d.ids;
}

/** True when the selection is every position of the dimension, in order. */
function isWhole(d: DimSelection, size: number): boolean {
  return d.kind === "range" && d.start === 0 && d.length === size;
}

/** numpy's broadcast check: can `from` broadcast to `to`? */
function broadcasts(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return from.slice(0, from.length - to.length).every((s) => s === 1) && broadcasts(from.slice(from.length - to.length), to);
  const offset = to.length - from.length;
  return from.every((s, i) => s === 1 || s === to[i + offset]);
}

/**
 * `t[index] = value` on a copy. `value` (a number, or a tensor that broadcasts to `idx(t, ...index)`'s
 * shape) is written into the selected region; every other element is `t`'s. With an id list that
 * repeats a position, the last occurrence's value is written, as numpy does. A bool mask as the only
 * item (`scores[mask] = -inf`) takes a number or a one-element tensor.
 * `act += v` has no helper: it is `tf.add(act, v)`.
 *
 * @example setIdx(act, [":", ":", head, ":"], 0)     // act[:, :, head, :] = 0 on [batch, pos, head_index, d_head]
 * @example setIdx(resid, [":", pos, ":"], idx(other, ":", pos, ":"))  // resid[:, pos, :] = other[:, pos, :]
 * @param t any shape; left unchanged
 * @param index index items as for `idx`
 * @param value a number, or a tensor broadcastable to the selected region's shape (cast to t's dtype)
 * @returns a new tensor of t's shape and dtype, owned by the caller
 * @throws for a bad index (as `idx`) or a value that does not broadcast to the region, naming both shapes
 */
export function setIdx<T extends tf.Tensor>(t: T, index: readonly IndexItem[], value: tf.Tensor | number): T;
export function setIdx(t: tf.Tensor, index: readonly IndexItem[], value: tf.Tensor | number): tf.Tensor {
  if (index.length === 1 && index[0] instanceof tf.Tensor) return maskWrite(t, index[0], value, "setIdx");
  const { dims, resultShape, blockShape } = parseIndex(t.shape, index, "setIdx");
  if (value instanceof tf.Tensor && !broadcasts(value.shape, resultShape)) {
    throw new Error(
      `setIdx: the value of shape ${describe(value.shape)} does not broadcast to the selected region of shape ` +
        `${describe(resultShape)} (tensor shape ${describe(t.shape)}, index [${index.map((i) => JSON.stringify(i)).join(", ")}]). ` +
        `Give a number, or a tensor of the region's shape (e.g. from idx with the same index).`
    );
  }
  // An empty selection writes nothing (numpy still checks the value's shape, as above).
  if (resultShape.includes(0)) return tf.clone(t);
  return tf.tidy(() => {
    const rank = t.rank;
    // Leading size-1 dimensions beyond the region's rank broadcast away (numpy allows them; tf.broadcastTo does not).
    const v =
      value instanceof tf.Tensor && value.rank > resultShape.length
        ? tf.reshape(value, value.shape.slice(value.rank - resultShape.length))
        : value;
    // One float32 zero tensor of t's shape: adding it is the fast way to broadcast on the wasm backend
    // (its broadcastTo, tile and broadcasting comparisons are many times slower than a broadcasting add).
    const zeros = tf.zeros(t.shape, "float32");
    const full = (x: tf.Tensor): tf.Tensor =>
      x.dtype === "float32" ? tf.add(x, zeros) : tf.broadcastTo(x, t.shape);
    // The mask: the product of one 1-D 0/1 vector per partly selected dimension, each shaped to broadcast.
    let mask: tf.Tensor | null = null;
    for (const d of dims) {
      const size = t.shape[d.dim];
      if (isWhole(d, size)) continue;
      const bits = new Float32Array(size);
      for (const p of positions(d)) bits[p] = 1;
      const shape = new Array<number>(rank).fill(1);
      shape[d.dim] = size;
      const m = tf.tensor(bits, shape, "float32");
      mask = mask === null ? m : tf.mul(mask, m);
    }
    const block = v instanceof tf.Tensor ? tf.reshape(tf.broadcastTo(tf.cast(v, t.dtype), resultShape), blockShape) : null;
    if (mask === null) {
      // The whole tensor is selected: the result is the value broadcast to t's shape.
      return block === null ? tf.fill(t.shape, v as number, t.dtype) : full(block);
    }
    const where = tf.cast(full(mask), "bool");
    if (block === null) return tf.where(where, tf.fill(t.shape, v as number, t.dtype), t);
    // Spread the value's block over the full shape: along each partly selected dimension, gather from
    // the block position that was written to each position (0 where nothing is; masked off anyway).
    let spread: tf.Tensor = block;
    for (const d of dims) {
      const size = t.shape[d.dim];
      if (isWhole(d, size)) continue;
      if (d.kind === "int") continue; // a size-1 block dimension broadcasts below
      const source = new Int32Array(size);
      positions(d).forEach((p, i) => (source[p] = i)); // later ids overwrite earlier ones, as in numpy
      spread = tf.gather(spread, tf.tensor1d(source, "int32"), d.dim);
    }
    return tf.where(where, full(spread), t);
  });
}
