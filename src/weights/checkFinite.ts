/**
 * NaN or infinite weights make every logit NaN, far from where they came from: the loader checks
 * each tensor as it is read and names the first bad one.
 */

/**
 * Index of the first NaN or ±Infinity among the float32 values in `bytes` (little-endian, 4-byte
 * aligned), or -1. Looks at exponent bits only (all ones = not finite), ~0.1 ns a value.
 */
export function firstNonFinite(bytes: Uint8Array): number {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  for (let i = 0; i < words.length; i++) {
    if ((words[i] & 0x7f800000) === 0x7f800000) return i;
  }
  return -1;
}

/** Throws, naming the tensor, the file and the position, if any value is not finite. */
export function checkFinite(bytes: Uint8Array, name: string, shape: readonly number[], file: string): void {
  const i = firstNonFinite(bytes);
  if (i < 0) return;
  const value = new Float32Array(bytes.buffer, bytes.byteOffset + 4 * i, 1)[0];
  const index: number[] = [];
  let rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  throw new Error(
    `Tensor "${name}" in ${file} holds ${value} at [${index.join(", ")}] (weights must be finite numbers). ` +
      `The checkpoint is corrupt or was saved after training diverged: download it again or use another checkpoint.`
  );
}
