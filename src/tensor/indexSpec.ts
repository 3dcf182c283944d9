/**
 * Parsing of numpy/torch-style index items against a tensor's shape. `idx` (reads) and `setIdx`
 * (edits) share this, so both accept and reject exactly the same indices with the same messages.
 *
 * An index item is one of:
 * - an integer: picks one position (negative counts from the end) and drops the dimension;
 * - `":"` or a slice string `"start:stop"`, `"start:"`, `":stop"`, `"::step"`, `"-3:"`,
 *   `"start:stop:step"`: Python slice semantics (out-of-range bounds are clipped, negative bounds
 *   count from the end, a negative step walks backwards); keeps the dimension;
 * - an array of integer ids: gathers those positions in that order (repeats allowed); keeps the
 *   dimension (`W_U[:, [3, 7]]` → `[d_model, 2]`);
 * - `null`: a new axis of size 1 (numpy's `None`), consuming no dimension;
 * - a bool tensor, as the only item: numpy's `t[mask]` (see ./mask.ts).
 * Fewer items than the rank means the remaining dimensions are taken whole (`":"`).
 */

import type { tf } from "../backend";

/** One item of an index: see the module comment. */
export type IndexItem = number | string | readonly number[] | null | tf.Tensor;

/** What one input dimension contributes after parsing. */
export type DimSelection =
  /** One position; the dimension is dropped. */
  | { kind: "int"; dim: number; index: number }
  /** Positions start, start + 1, ..., start + length - 1 (step 1); the dimension is kept. */
  | { kind: "range"; dim: number; start: number; length: number }
  /** Explicit positions (id lists and slices with a step other than 1); the dimension is kept. */
  | { kind: "ids"; dim: number; ids: number[] };

export interface ParsedIndex {
  /** One selection per input dimension, in order (missing trailing items filled with whole ranges). */
  dims: DimSelection[];
  /** Shape of the result, new axes included: what `idx(t, ...index)` returns. */
  resultShape: number[];
  /** Shape of the selected block with picked (int) dimensions kept as size 1 and no new axes. */
  blockShape: number[];
}

function describe(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function showItem(item: IndexItem): string {
  if (item === null) return "null";
  if (typeof item === "string") return JSON.stringify(item);
  if (typeof item === "number") return String(item);
  if (Array.isArray(item)) return `[${item.join(", ")}]`;
  return `<tensor ${describe((item as tf.Tensor).shape)}>`;
}

/** Resolves one integer position (negative from the end) or throws naming the valid range. */
function position(i: number, size: number, dim: number, shape: readonly number[], fn: string): number {
  if (!Number.isInteger(i)) {
    throw new Error(`${fn}: index ${i} for dimension ${dim} is not an integer (tensor shape ${describe(shape)}).`);
  }
  const p = i < 0 ? size + i : i;
  if (p < 0 || p >= size) {
    throw new Error(
      `${fn}: index ${i} is out of range for dimension ${dim} of size ${size} ` +
        `(tensor shape ${describe(shape)}; valid indices are ${-size}..${size - 1}).`
    );
  }
  return p;
}

const SLICE = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?$/;

/** Python's slice.indices(size) followed by the positions it visits. */
function slicePositions(text: string, size: number, dim: number, shape: readonly number[], fn: string): number[] {
  const m = SLICE.exec(text);
  if (!m) {
    throw new Error(
      `${fn}: ${JSON.stringify(text)} for dimension ${dim} is not a slice (tensor shape ${describe(shape)}). ` +
        `Use ":", "a:b", "a:", ":b", "::s" or "a:b:s" with integers, a number, an array of ids or null.`
    );
  }
  const step = m[3] === undefined ? 1 : Number(m[3]);
  if (step === 0) throw new Error(`${fn}: slice ${JSON.stringify(text)} for dimension ${dim} has step 0; a step must be non-zero.`);
  const clip = (v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    let b = Number(v);
    if (b < 0) b += size;
    if (step > 0) return Math.min(Math.max(b, 0), size);
    return Math.min(Math.max(b, -1), size - 1);
  };
  const start = clip(m[1], step > 0 ? 0 : size - 1);
  const stop = clip(m[2], step > 0 ? size : -1);
  const out: number[] = [];
  for (let p = start; step > 0 ? p < stop : p > stop; p += step) out.push(p);
  return out;
}

/**
 * Parses `index` against `shape`. `fn` names the public function in error messages.
 * Throws (naming the shape) for too many items, out-of-range integers or ids, bad slice strings,
 * and more than one id list (numpy would pair such lists element by element; index twice instead).
 */
export function parseIndex(shape: readonly number[], index: readonly IndexItem[], fn: string): ParsedIndex {
  const consuming = index.filter((item) => item !== null).length;
  if (consuming > shape.length) {
    throw new Error(
      `${fn}: ${consuming} indices given for a tensor of rank ${shape.length} (shape ${describe(shape)}); ` +
        `index [${index.map(showItem).join(", ")}] has too many items.`
    );
  }
  if (index.some((item) => typeof item === "object" && item !== null && !Array.isArray(item))) {
    throw new Error(
      `${fn}: a tensor in an index must be a bool mask given as the only item (numpy's t[mask]); ` +
        `got it among ${index.length} items for a tensor of shape ${describe(shape)}. Index the rest first, then apply the mask.`
    );
  }
  const lists = index.filter((item) => Array.isArray(item)).length;
  if (lists > 1) {
    throw new Error(
      `${fn}: index [${index.map(showItem).join(", ")}] has ${lists} id lists; numpy would pair them element by element, ` +
        `which this function does not do. Index with one list at a time, e.g. idx(idx(t, ids0), ":", ids1).`
    );
  }
  const dims: DimSelection[] = [];
  const resultShape: number[] = [];
  const blockShape: number[] = [];
  let dim = 0;
  const items = [...index, ...new Array<IndexItem>(shape.length - consuming).fill(":")];
  for (const item of items) {
    if (item === null) {
      resultShape.push(1);
      continue;
    }
    const size = shape[dim];
    if (typeof item === "number") {
      dims.push({ kind: "int", dim, index: position(item, size, dim, shape, fn) });
      blockShape.push(1);
    } else if (typeof item === "string") {
      const ps = slicePositions(item, size, dim, shape, fn);
      const contiguous = ps.every((p, i) => p === ps[0] + i);
      dims.push(contiguous ? { kind: "range", dim, start: ps.length ? ps[0] : 0, length: ps.length } : { kind: "ids", dim, ids: ps });
      resultShape.push(ps.length);
      blockShape.push(ps.length);
    } else if (Array.isArray(item)) {
      const ids = item.map((i) => position(i, size, dim, shape, fn));
      dims.push({ kind: "ids", dim, ids });
      resultShape.push(ids.length);
      blockShape.push(ids.length);
    } else {
      throw new Error(
        `${fn}: index item ${String(item)} for dimension ${dim} is not a number, slice string, id array or null ` +
          `(tensor shape ${describe(shape)}).`
      );
    }
    dim++;
  }
  return { dims, resultShape, blockShape };
}
