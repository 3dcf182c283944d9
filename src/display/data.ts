/**
 * Reading chart inputs: tensors (anything with `arraySync()`) or nested arrays, checked for rank,
 * rectangular shape and finite values, with errors that name the argument and the bad index.
 * Tensors are read, never disposed: the caller owns them.
 */
import type { TensorLike, Values1D, Values2D, Values3D } from "./types";

export function isTensorLike(x: unknown): x is TensorLike {
  return (
    x != null &&
    typeof x === "object" &&
    typeof (x as TensorLike).arraySync === "function" &&
    Array.isArray((x as TensorLike).shape)
  );
}

function describeShape(x: unknown): string {
  if (isTensorLike(x)) return `a tensor of shape [${x.shape.join(", ")}]`;
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  return x === null ? "null" : `a ${typeof x}`;
}

function isArrayLikeOfNumbers(x: unknown): x is ArrayLike<number> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

/** Reads a tensor or array and checks its rank; returns plain nested arrays. */
function readNested(x: unknown, rank: number, name: string, hint: string): unknown {
  if (isTensorLike(x)) {
    if (x.shape.length !== rank) {
      throw new Error(`${name} must have rank ${rank} ${hint}, but got a tensor of shape [${x.shape.join(", ")}].`);
    }
    return x.arraySync();
  }
  if (!isArrayLikeOfNumbers(x)) {
    throw new Error(`${name} must be a rank-${rank} array or tensor ${hint}, but got ${describeShape(x)}.`);
  }
  return x;
}

function checkRow(row: unknown, expectedLength: number | undefined, name: string, where: string, allowNaN = false): number[] {
  if (!isArrayLikeOfNumbers(row)) {
    throw new Error(`${name}${where} must be an array of numbers, but got ${describeShape(row)}.`);
  }
  // A plain loop: this reads every cell of 12 heads × 1024² attention patterns.
  const src = row as ArrayLike<unknown>;
  const out: number[] = new Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    // v - v is 0 for finite numbers and NaN for NaN and ±Infinity
    if (typeof v !== "number" || (v - v !== 0 && !(allowNaN && v !== v))) {
      throw new Error(`${name}${where}[${i}] must be a finite number${allowNaN ? " or NaN" : ""}, but is ${String(v)}.`);
    }
    out[i] = v;
  }
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new Error(`${name}${where} has ${out.length} entries, but earlier rows have ${expectedLength}: the array must be rectangular.`);
  }
  return out;
}

/** @returns the values as `number[]` */
export function read1D(x: Values1D, name: string): number[] {
  const nested = readNested(x, 1, name, "(one value per point)");
  return checkRow(nested, undefined, name, "");
}

/**
 * @param options.allowNaN accept NaN (a missing cell, drawn blank as matplotlib does); ±Infinity still throws
 * @returns the values as `number[rows][cols]`, checked rectangular and non-empty
 */
export function read2D(x: Values2D, name: string, options: { allowNaN?: boolean } = {}): number[][] {
  const nested = readNested(x, 2, name, "[rows, cols]") as ArrayLike<unknown>;
  const rows: number[][] = [];
  for (let i = 0; i < nested.length; i++) {
    rows.push(checkRow(nested[i], i === 0 ? undefined : rows[0].length, name, `[${i}]`, options.allowNaN));
  }
  if (rows.length === 0 || rows[0].length === 0) {
    throw new Error(`${name} is empty (${describeShape(x)}); there is nothing to draw.`);
  }
  return rows;
}

/** @returns the values as `number[a][b][c]`, checked rectangular and non-empty */
export function read3D(x: Values3D, name: string, hint = "[a, b, c]"): number[][][] {
  const nested = readNested(x, 3, name, hint) as ArrayLike<unknown>;
  const out: number[][][] = [];
  for (let i = 0; i < nested.length; i++) {
    const plane = nested[i];
    if (!isArrayLikeOfNumbers(plane)) {
      throw new Error(`${name}[${i}] must be a rank-2 array, but got ${describeShape(plane)}.`);
    }
    const rows: number[][] = [];
    const cols = out.length > 0 ? out[0][0].length : undefined;
    for (let j = 0; j < (plane as ArrayLike<unknown>).length; j++) {
      rows.push(checkRow((plane as ArrayLike<unknown>)[j], j === 0 ? cols : rows[0].length, name, `[${i}][${j}]`));
    }
    if (out.length > 0 && rows.length !== out[0].length) {
      throw new Error(`${name}[${i}] has ${rows.length} rows, but ${name}[0] has ${out[0].length}: the array must be rectangular.`);
    }
    out.push(rows);
  }
  if (out.length === 0 || out[0].length === 0 || out[0][0].length === 0) {
    throw new Error(`${name} is empty (${describeShape(x)}); there is nothing to draw.`);
  }
  return out;
}

/** `[0, 1, ..., n - 1]`, like Python's `range(n)` (notebook cells use it for tick positions). */
export function range(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`range(n) needs a non-negative integer, got ${n}.`);
  return Array.from({ length: n }, (_, i) => i);
}
