/**
 * Fused operations of the forward pass and of weight processing: one native kernel each when the native addon is active on this
 * backend (see kernels/nativeKernels.ts), else the same maths composed from tf ops. Both paths are
 * checked against the float64 reference by the parity tests.
 */
import { tf } from "../backend";
import {
  CAUSAL_ATTENTION_KERNEL, CENTER_ROWS_KERNEL, GELU_NEW_KERNEL, LAYER_NORM_KERNEL, SCALE_CENTER_COLUMNS_KERNEL, nativeKernelsActive,
} from "../kernels/nativeKernels";

function hasKernel(name: string): boolean {
  const backend = tf.getBackend();
  return nativeKernelsActive(backend) && tf.getKernel(name, backend) !== undefined;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GPT-2's GELU: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). Same shape as x. */
export function geluNew<T extends tf.Tensor>(x: T): T {
  if (hasKernel(GELU_NEW_KERNEL)) return tf.engine().runKernel(GELU_NEW_KERNEL, { x }, {}) as T;
  return tf.tidy(() => {
    // 0.5(1 + tanh(u)) = sigmoid(2u): fewer passes, and sigmoid is vectorised in tfjs-backend-wasm where tanh is not.
    const u2 = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), 2 * SQRT_2_OVER_PI);
    return tf.mul(x, tf.sigmoid(u2)) as T;
  });
}

/**
 * TransformerLens's LayerNorm: centred = x - mean(x); scale = sqrt(mean(centred²) + eps);
 * normalized = centred / scale, then * w + b when w and b are given.
 * @param x [..., d] @returns scale [..., 1] and normalized [..., d]
 */
export function layerNorm<T extends tf.Tensor>(x: T, eps: number, w?: tf.Tensor1D, b?: tf.Tensor1D): { scale: T; normalized: T } {
  if (hasKernel(LAYER_NORM_KERNEL) && x.dtype === "float32") {
    const inputs: Record<string, tf.Tensor> = { x };
    if (w && b) Object.assign(inputs, { w, b });
    const [scale, normalized] = tf.engine().runKernel(LAYER_NORM_KERNEL, inputs, { eps } as never) as tf.Tensor[];
    return { scale: scale as T, normalized: normalized as T };
  }
  return tf.tidy(() => {
    const centered = tf.sub(x, tf.mean(x, -1, true));
    const scale = tf.sqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps)) as T;
    let normalized = tf.div(centered, scale) as T;
    if (w && b) normalized = tf.add(tf.mul(normalized, w), b) as T;
    return { scale, normalized };
  });
}

/**
 * Causal attention scores and pattern, as TransformerLens computes them: scores = q·k / divisor with
 * -Infinity where the key comes after the query; pattern = softmax(scores) over keys.
 * @param q, k [batch*head, pos, d_head]
 * @param withScores false when nobody will see the scores: the native kernel then skips them.
 * @returns scores (when asked for) and pattern, [batch*head, query, key]
 */
export function causalAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  divisor: number,
  { withScores }: { withScores: boolean }
): { scores?: tf.Tensor3D; pattern: tf.Tensor3D } {
  if (hasKernel(CAUSAL_ATTENTION_KERNEL) && q.dtype === "float32" && k.dtype === "float32") {
    const out = tf.engine().runKernel(CAUSAL_ATTENTION_KERNEL, { q, k }, { divisor, withScores } as never) as tf.Tensor3D[];
    return withScores ? { scores: out[0], pattern: out[1] } : { pattern: out[0] };
  }
  return tf.tidy(() => {
    const scores = tf.add(tf.div(tf.matMul(q, k, false, true), divisor), causalMask(q.shape[1])) as tf.Tensor3D;
    return { scores, pattern: tf.softmax(scores) as tf.Tensor3D };
  });
}

/**
 * [pos, pos]: 0 on and below the diagonal, -Infinity above (TransformerLens masks with -inf).
 * Built on the host: tf.linalg.bandPart on bool tensors corrupts memory in tfjs-backend-wasm 4.22.
 */
export function causalMask(pos: number): tf.Tensor2D {
  const mask = new Float32Array(pos * pos);
  for (let q = 0; q < pos; q++) mask.fill(-Infinity, q * pos + q + 1, (q + 1) * pos);
  return tf.tensor2d(mask, [pos, pos]);
}

/** x minus its mean over the last axis (over everything for a vector). Same shape as x. */
export function centerLastAxis<T extends tf.Tensor>(x: T): T {
  if (hasKernel(CENTER_ROWS_KERNEL) && x.dtype === "float32" && x.rank >= 1) return tf.engine().runKernel(CENTER_ROWS_KERNEL, { x }, {}) as T;
  return tf.tidy(() => tf.sub(x, tf.mean(x, -1, true)) as T);
}

/**
 * Scales the rows of each [rows, cols] matrix by `scale` (optional) and, if `center`, subtracts each
 * column's mean over the rows: folding a LayerNorm weight into the matrix that reads it.
 * @param w [groups, rows, cols] @param scale [rows] @returns [groups, rows, cols]
 */
export function scaleCenterColumns(w: tf.Tensor3D, scale: tf.Tensor1D | undefined, center: boolean): tf.Tensor3D {
  if (hasKernel(SCALE_CENTER_COLUMNS_KERNEL) && w.dtype === "float32") {
    const inputs: Record<string, tf.Tensor> = scale ? { w, scale } : { w };
    return tf.engine().runKernel(SCALE_CENTER_COLUMNS_KERNEL, inputs, { center } as never) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const [groups, rows] = w.shape;
    let y: tf.Tensor3D = scale ? tf.mul(w, tf.reshape(scale, [1, rows, 1])) : w;
    // The column mean as a product (ones/rows [1, rows] @ y): tfjs reduces a middle axis by transposing it first.
    if (center) y = tf.sub(y, tf.matMul(tf.fill([groups, 1, rows], 1 / rows), y));
    return y;
  });
}
