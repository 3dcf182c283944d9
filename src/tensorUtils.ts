/**
 * Small helpers for the places where TensorFlow.js is clumsy next to PyTorch: integer indexing with
 * negative positions (`t[0, -1]`), top-k as plain numbers, cosine similarity, norms and softmax.
 *
 * Ownership: a helper that returns a tensor hands it to the caller (dispose it, or call the helper
 * inside `tf.tidy`); helpers that return numbers keep nothing. No helper disposes its input.
 */
import { tf } from "./backend";

/** Resolves a Python-style index (negative counts from the end) against a dimension of size `size`. */
function resolveIndex(index: number, size: number, dim: number, shape: readonly number[], fn: string): number {
  if (!Number.isInteger(index)) {
    throw new Error(`${fn}: index ${index} for dimension ${dim} is not an integer (tensor shape [${shape.join(", ")}]).`);
  }
  const resolved = index < 0 ? size + index : index;
  if (resolved < 0 || resolved >= size) {
    throw new Error(
      `${fn}: index ${index} is out of range for dimension ${dim} of size ${size} ` +
        `(tensor shape [${shape.join(", ")}]; valid indices are ${-size}..${size - 1}).`
    );
  }
  return resolved;
}

/**
 * `t[i0, i1, ...]` as in PyTorch: integer indices into the leading dimensions, negative ones
 * counting from the end; the indexed dimensions are dropped.
 * @example at(logits, 0, -1)   // logits [batch, pos, d_vocab] -> [d_vocab], the last position
 * @returns a new tensor of rank `t.rank - indices.length`, owned by the caller.
 */
export function at(t: tf.Tensor4D, i0: number): tf.Tensor3D;
export function at(t: tf.Tensor4D, i0: number, i1: number): tf.Tensor2D;
export function at(t: tf.Tensor4D, i0: number, i1: number, i2: number): tf.Tensor1D;
export function at(t: tf.Tensor3D, i0: number): tf.Tensor2D;
export function at(t: tf.Tensor3D, i0: number, i1: number): tf.Tensor1D;
export function at(t: tf.Tensor2D, i0: number): tf.Tensor1D;
export function at(t: tf.Tensor, ...indices: number[]): tf.Tensor;
export function at(t: tf.Tensor, ...indices: number[]): tf.Tensor {
  if (indices.length > t.rank) {
    throw new Error(
      `at: ${indices.length} indices given for a tensor of rank ${t.rank} (shape [${t.shape.join(", ")}]).`
    );
  }
  const begin = t.shape.map((size, dim) =>
    dim < indices.length ? resolveIndex(indices[dim], size, dim, t.shape, "at") : 0
  );
  const size = t.shape.map((s, dim) => (dim < indices.length ? 1 : s));
  return tf.tidy(() => tf.reshape(tf.slice(t, begin, size), t.shape.slice(indices.length)));
}

/**
 * One element as a number: `t[i0, ..., iN].item()`. Every dimension must be indexed.
 * @example item(probs, 7)   // probs [d_vocab] -> the probability of token 7
 * @example item(tf.dot(a, b))   // a scalar tensor, no indices: (a @ b).item()
 */
export function item(t: tf.Tensor, ...indices: number[]): number {
  if (indices.length !== t.rank) {
    throw new Error(
      `item: a tensor of shape [${t.shape.join(", ")}] needs ${t.rank} indices to name one element, got ${indices.length}. ` +
        `Use at() to take a slice.`
    );
  }
  if (t.rank === 0) return t.dataSync()[0]; // a scalar is its own element: `x.item()`
  const element = at(t, ...indices);
  try {
    return element.dataSync()[0];
  } finally {
    element.dispose();
  }
}

/** The values of a 1-D tensor or array as float64 numbers; `fn` names the caller in errors. */
function vector(x: tf.Tensor | ArrayLike<number>, fn: string, what: string): ArrayLike<number> {
  if (x instanceof tf.Tensor) {
    if (x.rank !== 1) {
      throw new Error(
        `${fn}: ${what} must be 1-D, got shape [${x.shape.join(", ")}]. ` +
          `Index it down first, e.g. at(resid, 0, -1) for the last position of [batch, pos, d_model].`
      );
    }
    return x.dataSync();
  }
  return x;
}

export interface TopK {
  /** The k largest values, largest first. */
  values: number[];
  /** Their positions in the input (token ids when the input is a row of logits). */
  indices: number[];
}

/**
 * The k largest entries of a 1-D tensor or array, largest first (ties keep the lower index first),
 * as `torch.topk(x, k)` but with plain numbers.
 * @param x [n]
 */
export function topK(x: tf.Tensor1D | tf.Tensor | ArrayLike<number>, k: number): TopK {
  const n = x instanceof tf.Tensor ? (x.rank === 1 ? x.shape[0] : -1) : x.length;
  if (n < 0) vector(x, "topK", "the input"); // throws the shape error
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new Error(`topK: k must be an integer from 1 to ${n} (the input's length), got ${k}.`);
  }
  if (x instanceof tf.Tensor) {
    const { values, indices } = tf.topk(x as tf.Tensor1D, k, true);
    try {
      return { values: Array.from(values.dataSync()), indices: Array.from(indices.dataSync()) };
    } finally {
      values.dispose();
      indices.dispose();
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[b] - x[a] || a - b);
  const indices = order.slice(0, k);
  return { values: indices.map((i) => x[i]), indices };
}

/**
 * The Euclidean (Frobenius) norm over all elements, as `t.norm()` in PyTorch, summed in float64.
 * @param x any shape
 */
export function norm(x: tf.Tensor | ArrayLike<number>): number {
  const data = x instanceof tf.Tensor ? x.dataSync() : x;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
  return Math.sqrt(sum);
}

/**
 * Cosine similarity of two vectors, as `torch.nn.functional.cosine_similarity(a, b, dim=-1)` on
 * 1-D inputs: a·b / (max(|a|, eps) · max(|b|, eps)), computed in float64.
 * @param a [n]
 * @param b [n]
 */
export function cosineSimilarity(
  a: tf.Tensor1D | tf.Tensor | ArrayLike<number>,
  b: tf.Tensor1D | tf.Tensor | ArrayLike<number>,
  options: { eps?: number } = {}
): number {
  const eps = options.eps ?? 1e-8;
  const u = vector(a, "cosineSimilarity", "the first vector");
  const v = vector(b, "cosineSimilarity", "the second vector");
  if (u.length !== v.length) {
    throw new Error(`cosineSimilarity: the vectors differ in length (${u.length} and ${v.length}).`);
  }
  let dot = 0;
  for (let i = 0; i < u.length; i++) dot += u[i] * v[i];
  return dot / (Math.max(norm(u), eps) * Math.max(norm(v), eps));
}

/**
 * Softmax over the last dimension, as `torch.softmax(x, dim=-1)`.
 * A tensor gives a new tensor of the same shape (owned by the caller); an array gives an array.
 */
export function softmax<T extends tf.Tensor>(x: T): T;
export function softmax(x: ArrayLike<number>): number[];
export function softmax(x: tf.Tensor | ArrayLike<number>): tf.Tensor | number[] {
  if (x instanceof tf.Tensor) {
    if (x.rank === 0) throw new Error("softmax: the input is a scalar; it needs at least one dimension.");
    return tf.tidy(() => tf.softmax(x.dtype === "float32" ? x : tf.cast(x, "float32")));
  }
  if (x.length === 0) return [];
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  const exps = Array.from(x, (v) => Math.exp(v - max));
  const total = exps.reduce((s, e) => s + e, 0);
  return exps.map((e) => e / total);
}

/**
 * `[start, start + step, ...]` up to but excluding `stop`, as Python's `range` / `np.arange`;
 * `range(n)` is `[0, 1, ..., n - 1]`.
 */
export function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`range: step must be a non-zero finite number, got ${step}.`);
  const out: number[] = [];
  for (let v = start; step > 0 ? v < stop : v > stop; v += step) out.push(v);
  return out;
}
