// The matrix multiply every native kernel calls, and the choice of implementation behind it.
//
// BatchedSgemm computes, for each i in [0, batch):
//   C_i = alpha * op(A_i) * op(B_i) + beta * C_i        (op = transpose when the flag is set)
// with op(A_i) m x k, op(B_i) k x n, C_i m x n, all row-major; A_i = A + i * a_stride (floats),
// likewise B and C; a stride of 0 broadcasts one operand over the batch. lda/ldb/ldc are the row
// lengths of the matrices as stored (before op). When beta == 0, C is written without being read.
#pragma once
#include <cstdint>

namespace mechinterp {

enum class GemmKernel { kBlas, kPortable };

// Whether a BLAS (OpenBLAS or Accelerate) was linked at build time, and its name ("openblas",
// "accelerate"), or "none".
bool HaveBlas();
const char* BlasName();

// The implementation BatchedSgemm uses now. Starts as kBlas when a BLAS was linked, else kPortable;
// $MECHINTERP_GEMM=portable at load selects the portable one. SetGemmKernel(kBlas) fails (returns
// false) when no BLAS was linked.
GemmKernel CurrentGemmKernel();
bool SetGemmKernel(GemmKernel kernel);

void BatchedSgemm(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, int64_t a_stride, const float* b, int64_t ldb, int64_t b_stride,
                  float beta, float* c, int64_t ldc, int64_t c_stride);

// The portable, multi-threaded, cache-blocked implementation (portable_sgemm.cc); same contract.
void PortableSgemm(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, int64_t a_stride, const float* b, int64_t ldb, int64_t b_stride,
                   float beta, float* c, int64_t ldc, int64_t c_stride);

}  // namespace mechinterp
