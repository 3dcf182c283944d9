/**
 * Reductions the notebooks write in one torch expression, as plain numbers (or a tensor where torch
 * keeps one): `(x > 0).float().mean().item()`, `x.var().item()`, `x.norm(dim=-1, keepdim=True)`,
 * `x.argmax().item()`, the row and column of a 2-D maximum, and top-k over a whole 2-D table.
 * `torch.stack(xs)` is `tf.stack(xs)` (same meaning: a new leading dimension).
 *
 * Number-valued helpers read the tensor's values and compute in float64 (torch computes in the
 * tensor's dtype, so its float32 result can differ in the last digits); they keep nothing.
 * No helper disposes its input.
 */
import { tf } from "../backend";

type Values = tf.Tensor | ArrayLike<number>;

function valuesOf(x: Values): ArrayLike<number> {
  return x instanceof tf.Tensor ? x.dataSync() : x;
}

function nonEmpty(data: ArrayLike<number>, fn: string): void {
  if (data.length === 0) throw new Error(`${fn}: the input is empty; it needs at least one element.`);
}

/**
 * The fraction of elements greater than 0, as `(x > 0).float().mean().item()`.
 * @param x any shape, not empty
 */
export function fractionPositive(x: Values): number {
  const data = valuesOf(x);
  nonEmpty(data, "fractionPositive");
  let count = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > 0) count++;
  return count / data.length;
}

/**
 * The variance of all elements, as `x.var().item()`: by default unbiased (divides by n - 1, torch's
 * default); `{ unbiased: false }` divides by n (numpy's `np.var`). Two-pass, in float64.
 * With one element the unbiased variance is NaN, as in torch.
 * @param x any shape, not empty
 */
export function variance(x: Values, options: { unbiased?: boolean } = {}): number {
  const data = valuesOf(x);
  nonEmpty(data, "variance");
  const n = data.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += data[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (data[i] - mean) * (data[i] - mean);
  const unbiased = options.unbiased ?? true;
  return unbiased ? (n > 1 ? squares / (n - 1) : NaN) : squares / n;
}

/**
 * The Euclidean norm along one dimension, as `x.norm(dim=dim, keepdim=keepdim)`.
 * @param x any shape with at least one dimension
 * @param options.dim the dimension (negative counts from the end), default -1
 * @param options.keepdim keep the reduced dimension as size 1 (default false, as torch)
 * @returns x's shape without `dim` (or with it as 1); float32; a new tensor owned by the caller
 */
export function normAlong<T extends tf.Tensor>(x: T, options: { dim?: number; keepdim?: boolean } = {}): tf.Tensor {
  const dim = options.dim ?? -1;
  if (!Number.isInteger(dim) || dim < -x.rank || dim >= x.rank) {
    throw new Error(
      `normAlong: dim ${dim} is out of range for a tensor of shape [${x.shape.join(", ")}]; ` +
        `valid dims are ${-x.rank}..${x.rank - 1}.`
    );
  }
  const axis = dim < 0 ? dim + x.rank : dim;
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.cast(x, "float32")), axis, options.keepdim ?? false)));
}

/** Index of the first maximum; NaN counts as the maximum (its first index), as torch.argmax. */
function argmaxOf(data: ArrayLike<number>): number {
  let best = 0;
  for (let i = 0; i < data.length; i++) {
    if (Number.isNaN(data[i])) return i;
    if (data[i] > data[best]) best = i;
  }
  return best;
}

/**
 * The position of the largest element of a 1-D tensor or array, as `x.argmax().item()` (the first one
 * when several are equal; a NaN counts as largest, as in torch).
 * @param x [n], not empty
 */
export function argmax(x: tf.Tensor1D | tf.Tensor | ArrayLike<number>): number {
  if (x instanceof tf.Tensor && x.rank !== 1) {
    throw new Error(
      `argmax: the input must be 1-D, got shape [${x.shape.join(", ")}]. For a 2-D table use argmax2d; ` +
        `otherwise index it down first, e.g. idx(logits, 0, -1).`
    );
  }
  const data = valuesOf(x);
  nonEmpty(data, "argmax");
  return argmaxOf(data);
}

/** One cell of a 2-D table. */
export interface Cell2d {
  row: number;
  col: number;
  value: number;
}

function table(x: tf.Tensor2D | tf.Tensor | readonly (readonly number[])[], fn: string): { data: ArrayLike<number>; cols: number } {
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) throw new Error(`${fn}: the input must be 2-D, got shape [${x.shape.join(", ")}].`);
    return { data: x.dataSync(), cols: x.shape[1] as number };
  }
  const cols = x.length ? x[0].length : 0;
  if (x.some((r) => r.length !== cols)) throw new Error(`${fn}: the rows of the input differ in length.`);
  return { data: x.flat(), cols };
}

/**
 * Row, column and value of the largest element of a 2-D table, as
 * `i = x.argmax(); row, col = i // x.shape[1], i % x.shape[1]` (first in row-major order on ties).
 * @param x [rows, cols], not empty
 */
export function argmax2d(x: tf.Tensor2D | tf.Tensor | readonly (readonly number[])[]): Cell2d {
  const { data, cols } = table(x, "argmax2d");
  nonEmpty(data, "argmax2d");
  const i = argmaxOf(data);
  return { row: Math.floor(i / cols), col: i % cols, value: data[i] };
}

/**
 * The k largest elements of a 2-D table, largest first, as `torch.topk(x.flatten(), k)` with each flat
 * index turned back into (row, col). Ties: the earlier element in row-major order comes first
 * (tf.topk's rule; torch.topk does not promise an order among equal values).
 * @param x [rows, cols]
 * @param k 1..rows·cols
 */
export function topK2d(x: tf.Tensor2D | tf.Tensor | readonly (readonly number[])[], k: number): Cell2d[] {
  const { data, cols } = table(x, "topK2d");
  if (!Number.isInteger(k) || k < 1 || k > data.length) {
    throw new Error(`topK2d: k must be an integer from 1 to ${data.length} (the number of elements), got ${k}.`);
  }
  const order = Array.from({ length: data.length }, (_, i) => i);
  // NaN sorts first as the largest (torch.topk's rule), then by value, then by position.
  const key = (i: number): number => (Number.isNaN(data[i]) ? Infinity : data[i]);
  order.sort((a, b) => {
    const na = Number.isNaN(data[a]);
    const nb = Number.isNaN(data[b]);
    if (na !== nb) return na ? -1 : 1;
    return key(b) - key(a) || a - b;
  });
  return order.slice(0, k).map((i) => ({ row: Math.floor(i / cols), col: i % cols, value: data[i] }));
}
