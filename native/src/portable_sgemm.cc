// A portable single-precision matrix multiply for machines without OpenBLAS or Accelerate: only a
// C++17 compiler (GCC or Clang) is needed. The contract is BatchedSgemm's (sgemm.h).
//
// Method (the classic Goto/BLIS layout): the k dimension is cut into slabs of KC, B's slab into
// column blocks of NC packed as NR-wide panels, A's slab into row blocks of MC packed as MR-high
// panels, so the innermost loop streams two small contiguous panels from L1 while it accumulates
// an MR x NR tile of C in registers. The tile is written with GCC/Clang vector extensions (8-float
// vectors): the compiler emits AVX/FMA under -march=native, SSE pairs without it, NEON on ARM.
// Threads take (batch, column block, row-block range) work items from a shared counter.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "sgemm.h"

namespace mechinterp {
namespace {

typedef float Vec8 __attribute__((vector_size(32)));

constexpr int64_t kMR = 6;     // rows of the register tile
constexpr int64_t kNR = 16;    // columns of the register tile (two Vec8)
constexpr int64_t kKC = 256;   // depth of one slab: an MR x KC panel of A and KC x NR of B stay in L1/L2
constexpr int64_t kMC = 120;   // rows of A packed at once (a multiple of kMR), ~120 KB: L2
constexpr int64_t kNC = 512;   // columns of B packed at once (a multiple of kNR), ~512 KB: L2/L3
constexpr double kFlopsPerThread = 4e6;  // below this much work per thread, fewer threads

inline Vec8 Load(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Rows [i0, i0 + mc) x depth [p0, p0 + kc) of op(A) into MR-row panels, [panel][p][row], zero-padded.
void PackA(const float* a, int64_t lda, bool trans, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
  for (int64_t ib = 0; ib < mc; ib += kMR) {
    const int64_t rows = std::min(kMR, mc - ib);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < kMR; ++r) {
        const int64_t i = i0 + ib + r, q = p0 + p;
        out[r] = r < rows ? (trans ? a[q * lda + i] : a[i * lda + q]) : 0.0f;
      }
      out += kMR;
    }
  }
}

// Depth [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) into NR-column panels, [panel][p][col], zero-padded.
void PackB(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t jb = 0; jb < nc; jb += kNR) {
    const int64_t cols = std::min(kNR, nc - jb);
    for (int64_t p = 0; p < kc; ++p) {
      const int64_t q = p0 + p;
      if (!trans && cols == kNR) {
        std::memcpy(out, b + q * ldb + j0 + jb, sizeof(float) * kNR);
      } else {
        for (int64_t c = 0; c < kNR; ++c) {
          const int64_t j = j0 + jb + c;
          out[c] = c < cols ? (trans ? b[j * ldb + q] : b[q * ldb + j]) : 0.0f;
        }
      }
      out += kNR;
    }
  }
}

// One MR x NR tile: acc = Apanel * Bpanel over kc, then C[0..rows, 0..cols) = alpha * acc plus
// beta * C (first slab) or plus C (later slabs).
void MicroKernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t rows, int64_t cols,
                 float alpha, float beta, bool first) {
  Vec8 acc[kMR][2];
  for (int64_t r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = Vec8{};
  for (int64_t p = 0; p < kc; ++p) {
    const Vec8 b0 = Load(bp), b1 = Load(bp + 8);
    for (int64_t r = 0; r < kMR; ++r) {
      acc[r][0] += ap[r] * b0;
      acc[r][1] += ap[r] * b1;
    }
    ap += kMR;
    bp += kNR;
  }
  float tile[kMR][kNR];
  std::memcpy(tile, acc, sizeof tile);
  for (int64_t r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    if (!first) {
      for (int64_t j = 0; j < cols; ++j) cr[j] += alpha * tile[r][j];
    } else if (beta == 0.0f) {
      for (int64_t j = 0; j < cols; ++j) cr[j] = alpha * tile[r][j];
    } else {
      for (int64_t j = 0; j < cols; ++j) cr[j] = beta * cr[j] + alpha * tile[r][j];
    }
  }
}

struct Problem {
  bool trans_a, trans_b;
  int64_t m, n, k;
  float alpha, beta;
  const float* a;
  int64_t lda, a_stride;
  const float* b;
  int64_t ldb, b_stride;
  float* c;
  int64_t ldc, c_stride;
};

// C_i's columns [j0, j0 + nc) for row blocks [mb0, mb1), slab by slab, with this thread's buffers.
void RunItem(const Problem& P, int64_t i, int64_t j0, int64_t nc, int64_t mb0, int64_t mb1, float* a_pack, float* b_pack) {
  const float* a = P.a + i * P.a_stride;
  const float* b = P.b + i * P.b_stride;
  float* c = P.c + i * P.c_stride;
  for (int64_t p0 = 0; p0 < P.k; p0 += kKC) {
    const int64_t kc = std::min(kKC, P.k - p0);
    PackB(b, P.ldb, P.trans_b, p0, kc, j0, nc, b_pack);
    for (int64_t mb = mb0; mb < mb1; ++mb) {
      const int64_t i0 = mb * kMC, mc = std::min(kMC, P.m - i0);
      PackA(a, P.lda, P.trans_a, i0, mc, p0, kc, a_pack);
      for (int64_t jb = 0; jb < nc; jb += kNR) {
        for (int64_t ib = 0; ib < mc; ib += kMR) {
          MicroKernel(kc, a_pack + ib * kc, b_pack + jb * kc, c + (i0 + ib) * P.ldc + j0 + jb, P.ldc,
                      std::min(kMR, mc - ib), std::min(kNR, nc - jb), P.alpha, P.beta, p0 == 0);
        }
      }
    }
  }
}

}  // namespace

void PortableSgemm(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, int64_t a_stride, const float* b, int64_t ldb, int64_t b_stride,
                   float beta, float* c, int64_t ldc, int64_t c_stride) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (k <= 0) {  // no products: C = beta * C
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) {
          float& x = c[i * c_stride + r * ldc + j];
          x = beta == 0.0f ? 0.0f : beta * x;
        }
    return;
  }
  const Problem P{trans_a, trans_b, m, n, k, alpha, beta, a, lda, a_stride, b, ldb, b_stride, c, ldc, c_stride};
  const int64_t m_blocks = (m + kMC - 1) / kMC, n_blocks = (n + kNC - 1) / kNC;
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const double flops = 2.0 * static_cast<double>(batch) * m * n * k;
  const int64_t want = std::max<int64_t>(1, std::min<int64_t>(hw, static_cast<int64_t>(flops / kFlopsPerThread)));
  // Split each (batch, column block) into row-block ranges: about 4 items per thread, so threads that
  // drew a narrow last column block take more items (each item packs its own B slabs, ~1% extra).
  const int64_t outer = batch * n_blocks;
  const int64_t m_groups = want == 1 ? 1 : std::min(m_blocks, std::max<int64_t>(1, (4 * want + outer - 1) / outer));
  const int64_t items = outer * m_groups;
  const int64_t threads = std::min(want, items);
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    std::vector<Vec8> a_buf(kMC * kKC / 8), b_buf(kKC * kNC / 8);
    float* a_pack = reinterpret_cast<float*>(a_buf.data());
    float* b_pack = reinterpret_cast<float*>(b_buf.data());
    for (int64_t item = next++; item < items; item = next++) {
      const int64_t g = item % m_groups, rest = item / m_groups;
      const int64_t jb = rest % n_blocks, i = rest / n_blocks;
      const int64_t mb0 = g * m_blocks / m_groups, mb1 = (g + 1) * m_blocks / m_groups;
      const int64_t j0 = jb * kNC;
      RunItem(P, i, j0, std::min(kNC, n - j0), mb0, mb1, a_pack, b_pack);
    }
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

}  // namespace mechinterp
