/**
 * A batched matrix multiply in float64 with plain loops, the reference for the native SGEMM kernels.
 * Imports nothing from src/ and no tfjs.
 *
 *   out[i] (m x n) = op(A[i]) (m x k) * op(B[i]) (k x n) + bias (n, per row, when given)
 * A and B are row-major and contiguous: A[i] starts at i * aBatchStride (0 broadcasts A), stored
 * [m, k] or, transposed, [k, m]; likewise B, [k, n] or [n, k]. Returns batch * m * n values.
 */
export interface MatMulCase {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
}

export function referenceMatMul(a: ArrayLike<number>, b: ArrayLike<number>, c: MatMulCase, bias?: ArrayLike<number>): Float64Array {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = c;
  const out = new Float64Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    for (let r = 0; r < m; r++) {
      for (let j = 0; j < n; j++) {
        let sum = bias ? bias[j] : 0;
        for (let p = 0; p < k; p++) {
          const av = a[i * aBatchStride + (transA ? p * m + r : r * k + p)];
          const bv = b[i * bBatchStride + (transB ? j * k + p : p * n + j)];
          sum += av * bv;
        }
        out[(i * m + r) * n + j] = sum;
      }
    }
  }
  return out;
}
