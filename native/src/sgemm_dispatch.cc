// BatchedSgemm: OpenBLAS / Accelerate when the build found one (MECHINTERP_HAVE_OPENBLAS or
// USE_ACCELERATE, set by binding.gyp from detect-blas.js), else, or when asked, the portable kernel.
#include <cstdlib>
#include <cstring>

#include "sgemm.h"

#if defined(USE_ACCELERATE)
#include <Accelerate/Accelerate.h>
#define MECHINTERP_BLAS "accelerate"
#elif defined(MECHINTERP_HAVE_OPENBLAS)
#include <cblas.h>
#define MECHINTERP_BLAS "openblas"
#else
#define MECHINTERP_BLAS "none"
#endif

namespace mechinterp {
namespace {

GemmKernel InitialKernel() {
  const char* env = std::getenv("MECHINTERP_GEMM");
  if (env != nullptr && std::strcmp(env, "portable") == 0) return GemmKernel::kPortable;
  return HaveBlas() ? GemmKernel::kBlas : GemmKernel::kPortable;
}

GemmKernel current = InitialKernel();

}  // namespace

bool HaveBlas() { return std::strcmp(MECHINTERP_BLAS, "none") != 0; }
const char* BlasName() { return MECHINTERP_BLAS; }
GemmKernel CurrentGemmKernel() { return current; }

bool SetGemmKernel(GemmKernel kernel) {
  if (kernel == GemmKernel::kBlas && !HaveBlas()) return false;
  current = kernel;
  return true;
}

void BatchedSgemm(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, int64_t a_stride, const float* b, int64_t ldb, int64_t b_stride,
                  float beta, float* c, int64_t ldc, int64_t c_stride) {
#if defined(USE_ACCELERATE) || defined(MECHINTERP_HAVE_OPENBLAS)
  if (current == GemmKernel::kBlas) {
    for (int64_t i = 0; i < batch; ++i) {
      cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                  static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a + i * a_stride,
                  static_cast<int>(lda), b + i * b_stride, static_cast<int>(ldb), beta, c + i * c_stride,
                  static_cast<int>(ldc));
    }
    return;
  }
#endif
  PortableSgemm(batch, trans_a, trans_b, m, n, k, alpha, a, lda, a_stride, b, ldb, b_stride, beta, c, ldc, c_stride);
}

}  // namespace mechinterp
