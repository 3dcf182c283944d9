/**
 * Types shared by the chart builders, the renderer and the display channel.
 *
 * Specs are typed loosely on purpose: the public `.d.ts` must load in tslab's TypeScript 5.0
 * without pulling vega-lite's own (large, newer) declarations into every notebook cell. The tests
 * compile every builder's output with vega-lite and fail on any warning instead.
 */

/** A Vega-Lite 5 JSON spec, as the builders return it. */
export interface VegaLiteSpec {
  $schema?: string;
  description?: string;
  title?: unknown;
  data?: unknown;
  [key: string]: unknown;
}

/**
 * A tensor-like input: anything with `shape` and `arraySync()` (a tf.Tensor from the package's
 * `tf`). Builders read it with `arraySync()` and never dispose it: the caller owns it.
 */
export interface TensorLike {
  readonly shape: readonly number[];
  arraySync(): unknown;
}

/** A rank-1 input: `number[]`, `Float32Array`, or a rank-1 tensor. */
export type Values1D = readonly number[] | ArrayLike<number> | TensorLike;
/** A rank-2 input, `[rows, cols]`: `number[][]` or a rank-2 tensor. */
export type Values2D = readonly (readonly number[] | ArrayLike<number>)[] | TensorLike;
/** A rank-3 input, e.g. attention `[head, query_pos, key_pos]`: `number[][][]` or a rank-3 tensor. */
export type Values3D = readonly (readonly (readonly number[] | ArrayLike<number>)[])[] | TensorLike;
