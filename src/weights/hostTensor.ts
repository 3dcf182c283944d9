/**
 * Weights on the host (plain typed arrays), before they become tf tensors. Conversion and weight
 * processing are pure functions over these: state dict in, new state dict out.
 */

/** A float32 array with its shape, row-major. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameter name → host tensor. Names are Hugging Face's before conversion, TransformerLens's after. */
export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function hostTensor(shape: number[], data?: Float32Array): HostTensor {
  const n = numel(shape);
  if (data && data.length !== n) {
    throw new Error(`Internal error: data of length ${data.length} does not fit shape [${shape.join(", ")}]`);
  }
  return { shape, data: data ?? new Float32Array(n) };
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
