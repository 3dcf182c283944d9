/** Weights on the host (plain typed arrays), as read from a file before they reach the backend. */

/** A float32 array with its shape, row-major. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
