/**
 * `idx(t, ...index)`: numpy/torch-style reads, `t[:, id]`, `t[-1]`, `t[2:5, ::-1]`, `t[:, [3, 7]]`,
 * `t[None]`. The index items are described in ./indexSpec.ts.
 *
 * Ownership: the result is a new tensor owned by the caller (dispose it, or call idx inside
 * `tf.tidy`); the input is never disposed or changed.
 */
import { tf } from "../backend";
import { parseIndex, type IndexItem } from "./indexSpec";
import { maskRead } from "./mask";

// ---- Result rank from the argument types -------------------------------------------------------
// With the tensor's rank in its type (tf.Tensor2D, ...) and a literal index list, the result gets its
// rank too: an integer drops a dimension, null adds one, a slice string or id array keeps one.
// Anything the types cannot count (a spread array, a plain tf.Tensor) gives tf.Tensor.

type Tuple<N extends number, Acc extends unknown[] = []> = Acc["length"] extends N ? Acc : Tuple<N, [...Acc, 0]>;

/** The rank of a tensor type as a tuple of that length, or never when the type does not fix it. */
type RankTuple<T extends tf.Tensor> = number extends T["shape"]["length"] ? never : Tuple<T["shape"]["length"]>;

/** Walks the index items: `In` counts input dimensions left, `Out` the result's dimensions so far. */
type Walk<I extends readonly unknown[], In extends unknown[], Out extends unknown[]> = I extends readonly [
  infer Head,
  ...infer Rest
]
  ? [Head] extends [null]
    ? Walk<Rest, In, [...Out, 0]>
    : In extends [unknown, ...infer InRest]
    ? [Head] extends [number]
      ? Walk<Rest, InRest, Out>
      : [Head] extends [string | readonly number[]]
      ? Walk<Rest, InRest, [...Out, 0]>
      : -1 // an item whose kind the type does not fix (e.g. IndexItem)
    : -1 // more items than dimensions: idx throws
  : [...Out, ...In]["length"];

type RankedTensor<R> = [R] extends [never]
  ? tf.Tensor
  : R extends 0
  ? tf.Scalar
  : R extends 1
  ? tf.Tensor1D
  : R extends 2
  ? tf.Tensor2D
  : R extends 3
  ? tf.Tensor3D
  : R extends 4
  ? tf.Tensor4D
  : R extends 5
  ? tf.Tensor5D
  : R extends 6
  ? tf.Tensor<tf.Rank.R6>
  : tf.Tensor;

/** The tensor type `idx(t, ...index)` returns for a tensor of type T and index items I. */
export type Indexed<T extends tf.Tensor, I extends readonly IndexItem[]> = number extends I["length"]
  ? tf.Tensor
  : [RankTuple<T>] extends [never]
  ? tf.Tensor
  : RankedTensor<Walk<I, RankTuple<T>, []>>;

/**
 * `t[i0, i1, ...]` as numpy/torch read it: integers (negative from the end; drop the dimension),
 * `":"` and slice strings (`"a:b"`, `"a:"`, `":b"`, `"::s"`, `"-3:"`; keep it), arrays of ids
 * (gather; keep it), `null` (new axis). Missing trailing items are `":"`. A bool tensor as the only
 * item is numpy's `t[mask]`: [count of true entries, ...remaining dims].
 *
 * @example idx(model.W_U, ":", id)            // W_U[:, id]: [d_model, d_vocab] -> [d_model]
 * @example idx(model.W_U, ":", ids).transpose() // W_U[:, ids].T -> [ids.length, d_model]
 * @example idx(model.W_O, layer, head)         // W_O[layer][head]: -> [d_head, d_model]
 * @example idx(logits, 0, -1, id)              // logits[0, -1, id] -> scalar tensor
 * @example idx(x, null, ":", "::-1")           // x[None, :, ::-1]
 * @example idx(sims, offDiagonal)              // sims[mask] with a bool mask of sims's shape -> [count]
 * @returns the selected values, shape as numpy would give (see `Indexed` for the static type); a new
 *   tensor owned by the caller, same dtype as `t`.
 * @throws for too many items, out-of-range integers or ids (naming the valid range and the shape),
 *   bad slice strings, and more than one id list.
 */
export function idx<T extends tf.Tensor, I extends IndexItem[]>(t: T, ...index: I): Indexed<T, I>;
export function idx(t: tf.Tensor, ...index: IndexItem[]): tf.Tensor {
  if (index.length === 1 && index[0] instanceof tf.Tensor) return maskRead(t, index[0], "idx");
  const { dims, resultShape } = parseIndex(t.shape, index, "idx");
  return tf.tidy(() => {
    // One slice covers every integer and contiguous range; id lists are gathered afterwards.
    const begin = dims.map((d) => (d.kind === "int" ? d.index : d.kind === "range" ? d.start : 0));
    const size = dims.map((d, i) => (d.kind === "int" ? 1 : d.kind === "range" ? d.length : t.shape[i]));
    const whole = size.every((s, i) => s === t.shape[i]);
    let x: tf.Tensor = whole ? t : tf.slice(t, begin, size);
    for (const d of dims) {
      if (d.kind !== "ids") continue;
      x = tf.gather(x, tf.tensor1d(d.ids, "int32"), d.dim);
    }
    // A reshape of the input itself would share its data; clone so the caller owns a distinct tensor.
    return x === t ? tf.clone(t).reshape(resultShape) : tf.reshape(x, resultShape);
  });
}
