/**
 * Boolean-mask indexing, numpy's `t[mask]` and `t[mask] = v`, for `idx` and `setIdx`.
 * The mask is a bool tensor whose shape equals t's leading dimensions; `t[mask]` is then
 * [number of true entries, ...t's remaining dimensions], in row-major order of the mask.
 * Reading the mask is synchronous (dataSync), as torch's `t[mask]` is.
 */
import { tf } from "../backend";

function describe(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Checks that `mask` is a bool tensor matching t's leading dimensions; `fn` names the caller. */
export function checkMask(t: tf.Tensor, mask: tf.Tensor, fn: string): void {
  if (mask.dtype !== "bool") {
    throw new Error(
      `${fn}: a tensor index must be a bool mask, got dtype ${mask.dtype} (shape ${describe(mask.shape)}). ` +
        `For positions use an array of ids, e.g. Array.from(ids.dataSync()).`
    );
  }
  const lead = t.shape.slice(0, mask.rank);
  if (mask.rank > t.rank || mask.shape.some((s, i) => s !== lead[i])) {
    throw new Error(
      `${fn}: a mask of shape ${describe(mask.shape)} does not match the leading dimensions of the tensor of shape ` +
        `${describe(t.shape)}; it must have shape ${describe(t.shape.slice(0, Math.min(mask.rank, t.rank)))}.`
    );
  }
}

/**
 * `t[mask]`.
 * @returns [count of true entries, ...t.shape.slice(mask.rank)], a new tensor owned by the caller
 */
export function maskRead(t: tf.Tensor, mask: tf.Tensor, fn: string): tf.Tensor {
  checkMask(t, mask, fn);
  const bits = mask.dataSync();
  const ids: number[] = [];
  for (let i = 0; i < bits.length; i++) if (bits[i]) ids.push(i);
  const rest = t.shape.slice(mask.rank);
  return tf.tidy(() => tf.gather(tf.reshape(t, [bits.length, ...rest]), tf.tensor1d(ids, "int32"), 0));
}

/**
 * `t[mask] = value` on a copy, for a number or a scalar (0-d or one-element) tensor value.
 * @returns t's shape and dtype, a new tensor owned by the caller
 */
export function maskWrite(t: tf.Tensor, mask: tf.Tensor, value: tf.Tensor | number, fn: string): tf.Tensor {
  checkMask(t, mask, fn);
  if (value instanceof tf.Tensor && value.size !== 1) {
    throw new Error(
      `${fn}: with a mask index the value must be a number or a one-element tensor, got shape ${describe(value.shape)}. ` +
        `Build the full edited tensor with tf.where(mask, values, t) instead.`
    );
  }
  return tf.tidy(() => {
    const v = value instanceof tf.Tensor ? tf.reshape(tf.cast(value, t.dtype), []) : tf.scalar(value, t.dtype);
    const m = tf.reshape(mask, [...mask.shape, ...new Array<number>(t.rank - mask.rank).fill(1)]);
    return tf.where(m, v, t);
  });
}
