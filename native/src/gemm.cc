// Native kernels for Node.js over raw ArrayBuffers: a batched single-precision matrix multiply
// (the platform's BLAS, OpenBLAS or Accelerate, when the build found one, else our own portable
// kernel: see sgemm.h), and fused kernels (GPT-2's GELU, LayerNorm, attention...) on plain threads.
// gemmInfo and setGemmKernel (gemm_select.cc) say and choose which multiply runs.
//
// sgemm(a, aOffset, b, bOffset, out, outOffset, batch, m, n, k, transA, transB,
//       aBatchStride, bBatchStride, bias, biasOffset)   (all 16 arguments; bias may be null)
//   For each batch i: out[i] (m x n) = op(A[i]) (m x k) * op(B[i]) (k x n) (+ bias[n] per row).
//   Offsets and strides are in float elements; a batch stride of 0 broadcasts that operand.
//   All matrices are row-major and contiguous. bias may be null.
#include <node_api.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "sgemm.h"
#include "sgemm_js.h"

namespace {

bool GetFloats(napi_env env, napi_value value, int64_t offset, int64_t count, float** out) {
  void* data = nullptr;
  size_t byte_length = 0;
  bool is_ab = false;
  napi_is_arraybuffer(env, value, &is_ab);
  if (is_ab) {
    if (napi_get_arraybuffer_info(env, value, &data, &byte_length) != napi_ok) return false;
  } else {
    bool is_ta = false;
    napi_is_typedarray(env, value, &is_ta);
    if (!is_ta) return false;
    napi_typedarray_type type;
    size_t length;
    napi_value ab;
    size_t byte_offset;
    if (napi_get_typedarray_info(env, value, &type, &length, &data, &ab, &byte_offset) != napi_ok) return false;
    byte_length = length * (type == napi_float32_array ? 4 : 1);
  }
  if (offset < 0 || count < 0 || (offset + count) * 4 > static_cast<int64_t>(byte_length)) return false;
  *out = static_cast<float*>(data) + offset;
  return true;
}

int64_t GetInt(napi_env env, napi_value v) {
  int64_t x = 0;
  napi_get_value_int64(env, v, &x);
  return x;
}

bool GetBool(napi_env env, napi_value v) {
  bool x = false;
  napi_get_value_bool(env, v, &x);
  return x;
}

// Reads the call's arguments into args[0..needed); throws a TypeError naming fn when fewer came.
bool GetArgs(napi_env env, napi_callback_info info, size_t needed, napi_value* args, const char* fn) {
  size_t argc = needed;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc < needed) {
    const std::string message = std::string(fn) + ": expected " + std::to_string(needed) + " arguments";
    napi_throw_type_error(env, nullptr, message.c_str());
    return false;
  }
  return true;
}

// Whether an optional argument was left out (null or undefined).
bool IsAbsent(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

napi_value Sgemm(napi_env env, napi_callback_info info) {
  napi_value args[16];
  if (!GetArgs(env, info, 16, args, "sgemm")) return nullptr;
  const int64_t batch = GetInt(env, args[6]);
  const int64_t m = GetInt(env, args[7]);
  const int64_t n = GetInt(env, args[8]);
  const int64_t k = GetInt(env, args[9]);
  const bool trans_a = GetBool(env, args[10]);
  const bool trans_b = GetBool(env, args[11]);
  const int64_t a_stride = GetInt(env, args[12]);
  const int64_t b_stride = GetInt(env, args[13]);
  if (batch < 0 || m < 0 || n < 0 || k < 0) {
    napi_throw_range_error(env, nullptr, "sgemm: negative dimension");
    return nullptr;
  }
  float *a, *b, *out, *bias = nullptr;
  const int64_t a_count = (batch > 0 ? (batch - 1) * a_stride : 0) + m * k;
  const int64_t b_count = (batch > 0 ? (batch - 1) * b_stride : 0) + k * n;
  if (!GetFloats(env, args[0], GetInt(env, args[1]), a_count, &a) ||
      !GetFloats(env, args[2], GetInt(env, args[3]), b_count, &b) ||
      !GetFloats(env, args[4], GetInt(env, args[5]), batch * m * n, &out)) {
    napi_throw_range_error(env, nullptr, "sgemm: an operand does not fit its buffer");
    return nullptr;
  }
  if (!IsAbsent(env, args[14]) && !GetFloats(env, args[14], GetInt(env, args[15]), n, &bias)) {
    napi_throw_range_error(env, nullptr, "sgemm: bias does not fit its buffer");
    return nullptr;
  }
  const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n;
  if (bias != nullptr) {
    for (int64_t r = 0; r < batch * m; ++r) std::memcpy(out + r * n, bias, sizeof(float) * n);
  } else if (k == 0) {
    std::memset(out, 0, sizeof(float) * batch * m * n);
  }
  if (k > 0) {
    mechinterp::BatchedSgemm(batch, trans_a, trans_b, m, n, k, 1.0f, a, lda, a_stride, b, ldb, b_stride,
                             bias != nullptr ? 1.0f : 0.0f, out, n, m * n);
  }
  return nullptr;
}

// Runs body(begin, end) over [0, n) on up to hardware_concurrency threads; small n stays on this one.
template <typename F>
void ParallelFor(int64_t n, int64_t min_per_thread, F body) {
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(hw, n / std::max<int64_t>(1, min_per_thread)));
  if (threads == 1) {
    body(0, n);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t chunk = (n + threads - 1) / threads;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) pool.emplace_back([=] { body(begin, end); });
  }
  body(0, std::min(n, chunk));
  for (auto& th : pool) th.join();
}

// geluNew(x, xOffset, out, outOffset, n): GPT-2's tanh GELU, 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
napi_value GeluNew(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!GetArgs(env, info, 5, args, "geluNew")) return nullptr;
  const int64_t n = GetInt(env, args[4]);
  float *x, *out;
  if (!GetFloats(env, args[0], GetInt(env, args[1]), n, &x) || !GetFloats(env, args[2], GetInt(env, args[3]), n, &out)) {
    napi_throw_range_error(env, nullptr, "geluNew: an operand does not fit its buffer");
    return nullptr;
  }
  ParallelFor(n, 1 << 16, [=](int64_t begin, int64_t end) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    for (int64_t i = begin; i < end; ++i) {
      // 0.5(1 + tanh(u)) = 1 / (1 + exp(-2u)): expf vectorises (glibc's libmvec), tanhf does not.
      const float v = x[i];
      out[i] = v / (1.0f + std::exp(-2.0f * k * (v + 0.044715f * v * v * v)));
    }
  });
  return nullptr;
}

// layerNorm(x, xOff, rows, d, eps, w|null, wOff, b|null, bOff, scale, scaleOff, normalized, normOff):
// per row: centred = x - mean(x); scale = sqrt(mean(centred^2) + eps); normalized = centred / scale
// (then * w + b when given). Accumulates in double, as the row sums are long.
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  napi_value args[13];
  if (!GetArgs(env, info, 13, args, "layerNorm")) return nullptr;
  const int64_t rows = GetInt(env, args[2]);
  const int64_t d = GetInt(env, args[3]);
  double eps = 0;
  napi_get_value_double(env, args[4], &eps);
  float *x, *scale, *norm, *w = nullptr, *b = nullptr;
  const bool affine = !IsAbsent(env, args[5]) && !IsAbsent(env, args[7]);
  if (!GetFloats(env, args[0], GetInt(env, args[1]), rows * d, &x) ||
      !GetFloats(env, args[9], GetInt(env, args[10]), rows, &scale) ||
      !GetFloats(env, args[11], GetInt(env, args[12]), rows * d, &norm) ||
      (affine && (!GetFloats(env, args[5], GetInt(env, args[6]), d, &w) || !GetFloats(env, args[7], GetInt(env, args[8]), d, &b)))) {
    napi_throw_range_error(env, nullptr, "layerNorm: an operand does not fit its buffer");
    return nullptr;
  }
  ParallelFor(rows, 64, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * d;
      float* nr = norm + r * d;
      double sum = 0;
      for (int64_t i = 0; i < d; ++i) sum += xr[i];
      const float mean = static_cast<float>(sum / d);
      double sq = 0;
      for (int64_t i = 0; i < d; ++i) {
        const float c = xr[i] - mean;
        nr[i] = c;
        sq += static_cast<double>(c) * c;
      }
      const float s = static_cast<float>(std::sqrt(static_cast<float>(sq / d) + eps));
      scale[r] = s;
      if (affine) {
        for (int64_t i = 0; i < d; ++i) nr[i] = nr[i] / s * w[i] + b[i];
      } else {
        for (int64_t i = 0; i < d; ++i) nr[i] = nr[i] / s;
      }
    }
  });
  return nullptr;
}

// centerRows(x, xOff, rows, n, out, outOff): out[r] = x[r] - mean(x[r]) for each row of n values.
napi_value CenterRows(napi_env env, napi_callback_info info) {
  napi_value args[6];
  if (!GetArgs(env, info, 6, args, "centerRows")) return nullptr;
  const int64_t rows = GetInt(env, args[2]);
  const int64_t n = GetInt(env, args[3]);
  float *x, *out;
  if (!GetFloats(env, args[0], GetInt(env, args[1]), rows * n, &x) || !GetFloats(env, args[4], GetInt(env, args[5]), rows * n, &out)) {
    napi_throw_range_error(env, nullptr, "centerRows: an operand does not fit its buffer");
    return nullptr;
  }
  ParallelFor(rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, n)), [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * n;
      float* o = out + r * n;
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += xr[i];
      const float mean = static_cast<float>(sum / n);
      for (int64_t i = 0; i < n; ++i) o[i] = xr[i] - mean;
    }
  });
  return nullptr;
}

// scaleCenterColumns(w, wOff, groups, rows, cols, scale|null, scaleOff, center, out, outOff):
// for each group of a [groups, rows, cols] tensor: y[r][c] = scale[r] * w[r][c], then (if center)
// each column c minus its mean over r. Folding a LayerNorm's weight into the matrix that reads it.
napi_value ScaleCenterColumns(napi_env env, napi_callback_info info) {
  napi_value args[10];
  if (!GetArgs(env, info, 10, args, "scaleCenterColumns")) return nullptr;
  const int64_t groups = GetInt(env, args[2]), rows = GetInt(env, args[3]), cols = GetInt(env, args[4]);
  const bool center = GetBool(env, args[7]);
  float *w, *out, *scale = nullptr;
  if (!GetFloats(env, args[0], GetInt(env, args[1]), groups * rows * cols, &w) ||
      !GetFloats(env, args[8], GetInt(env, args[9]), groups * rows * cols, &out) ||
      (!IsAbsent(env, args[5]) && !GetFloats(env, args[5], GetInt(env, args[6]), rows, &scale))) {
    napi_throw_range_error(env, nullptr, "scaleCenterColumns: an operand does not fit its buffer");
    return nullptr;
  }
  // Parallel over column blocks, so each thread owns its columns' sums.
  ParallelFor(groups * cols, 1 << 10, [=](int64_t begin, int64_t end) {
    std::vector<double> sums;
    int64_t i = begin;
    while (i < end) {
      const int64_t g = i / cols, c0 = i % cols, c1 = std::min(cols, c0 + (end - i));
      const float* wg = w + g * rows * cols;
      float* og = out + g * rows * cols;
      sums.assign(c1 - c0, 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const float s = scale ? scale[r] : 1.0f;
        for (int64_t c = c0; c < c1; ++c) {
          const float y = wg[r * cols + c] * s;
          og[r * cols + c] = y;
          sums[c - c0] += y;
        }
      }
      if (center) {
        for (int64_t c = c0; c < c1; ++c) sums[c - c0] /= rows;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = c0; c < c1; ++c) og[r * cols + c] -= static_cast<float>(sums[c - c0]);
      }
      i += c1 - c0;
    }
  });
  return nullptr;
}

// causalAttention(q, qOff, k, kOff, matrices, pos, dHead, divisor, scores|null, scoresOff, pattern, patternOff):
// for each of `matrices` heads, with q and k [pos, dHead] row-major: scores = q k^T / divisor with
// -Infinity where the key comes after the query, pattern = softmax(scores) over keys. The product is
// written straight into the scores (or, when scores is null, the pattern) buffer: no raw buffer.
napi_value CausalAttention(napi_env env, napi_callback_info info) {
  napi_value args[12];
  if (!GetArgs(env, info, 12, args, "causalAttention")) return nullptr;
  const int64_t matrices = GetInt(env, args[4]), pos = GetInt(env, args[5]), d_head = GetInt(env, args[6]);
  double divisor = 1;
  napi_get_value_double(env, args[7], &divisor);
  const bool want_scores = !IsAbsent(env, args[8]);
  const int64_t qk = matrices * pos * d_head, pp = matrices * pos * pos;
  float *q, *k, *pattern, *scores = nullptr;
  if (!GetFloats(env, args[0], GetInt(env, args[1]), qk, &q) || !GetFloats(env, args[2], GetInt(env, args[3]), qk, &k) ||
      !GetFloats(env, args[10], GetInt(env, args[11]), pp, &pattern) ||
      (want_scores && !GetFloats(env, args[8], GetInt(env, args[9]), pp, &scores))) {
    napi_throw_range_error(env, nullptr, "causalAttention: an operand does not fit its buffer");
    return nullptr;
  }
  float* dot = want_scores ? scores : pattern;
  const float alpha = static_cast<float>(1.0 / divisor);
  mechinterp::BatchedSgemm(matrices, false, true, pos, pos, d_head, alpha, q, d_head, pos * d_head, k, d_head,
                           pos * d_head, 0.0f, dot, pos, pos * pos);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  ParallelFor(matrices * pos, 256, [=](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t qi = row % pos;
      float* s = dot + row * pos;
      float* p = pattern + row * pos;
      float mx = neg_inf;
      for (int64_t j = 0; j <= qi; ++j) mx = std::max(mx, s[j]);
      double sum = 0;
      for (int64_t j = 0; j <= qi; ++j) {
        const float e = std::exp(s[j] - mx);
        p[j] = e;  // may overwrite s[j] when p == s: s[j] is not read again
        sum += e;
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j <= qi; ++j) p[j] *= inv;
      for (int64_t j = qi + 1; j < pos; ++j) {
        if (s != p) s[j] = neg_inf;
        p[j] = 0.0f;
      }
    }
  });
  return nullptr;
}

// Reads a JS array of up to 4 integers.
bool GetDims(napi_env env, napi_value v, std::vector<int64_t>* out) {
  bool is_array = false;
  napi_is_array(env, v, &is_array);
  if (!is_array) return false;
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  if (n > 4) return false;
  out->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    (*out)[i] = GetInt(env, e);
  }
  return true;
}

// Strides of a row-major shape.
std::vector<int64_t> Strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

// transpose(src, srcOff, shape, perm, dst, dstOff): out shape[i] = shape[perm[i]].
// A 2-D swap is done in cache-sized tiles; a permutation that keeps the last axis copies whole rows.
// Returns false for what it does not handle (the caller then uses tfjs's kernel).
napi_value Transpose(napi_env env, napi_callback_info info) {
  napi_value args[6];
  if (!GetArgs(env, info, 6, args, "transpose")) return nullptr;
  napi_value result;
  std::vector<int64_t> shape, perm;
  if (!GetDims(env, args[2], &shape) || !GetDims(env, args[3], &perm) || perm.size() != shape.size()) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  int64_t n = 1;
  for (auto d : shape) n *= d;
  float *src, *dst;
  if (!GetFloats(env, args[0], GetInt(env, args[1]), n, &src) || !GetFloats(env, args[4], GetInt(env, args[5]), n, &dst)) {
    napi_throw_range_error(env, nullptr, "transpose: an operand does not fit its buffer");
    return nullptr;
  }
  const size_t rank = shape.size();
  bool handled = false;
  if (rank == 2 && perm[0] == 1 && perm[1] == 0) {
    const int64_t rows = shape[0], cols = shape[1], T = 64;
    ParallelFor((rows + T - 1) / T, 1, [=](int64_t b0, int64_t b1) {
      for (int64_t rb = b0 * T; rb < std::min(rows, b1 * T); rb += T)
        for (int64_t cb = 0; cb < cols; cb += T)
          for (int64_t r = rb; r < std::min(rows, rb + T); ++r)
            for (int64_t c = cb; c < std::min(cols, cb + T); ++c) dst[c * rows + r] = src[r * cols + c];
    });
    handled = true;
  } else if (rank >= 2 && perm[rank - 1] == static_cast<int64_t>(rank) - 1) {
    // The last axis stays: copy runs of shape[rank-1] floats.
    const std::vector<int64_t> in_st = Strides(shape);
    std::vector<int64_t> out_shape(rank);
    for (size_t i = 0; i < rank; ++i) out_shape[i] = shape[perm[i]];
    const int64_t run = shape[rank - 1];
    const int64_t runs = n / std::max<int64_t>(1, run);
    ParallelFor(runs, 1024, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        // r indexes the output's leading axes; map it back to the input offset.
        int64_t rem = r, offset = 0;
        for (int64_t i = static_cast<int64_t>(rank) - 2; i >= 0; --i) {
          const int64_t idx = rem % out_shape[i];
          rem /= out_shape[i];
          offset += idx * in_st[perm[i]];
        }
        std::memcpy(dst + r * run, src + offset, sizeof(float) * run);
      }
    });
    handled = true;
  }
  napi_get_boolean(env, handled, &result);
  return result;
}

// slice(src, srcOff, shape, begin, size, dst, dstOff): a box of `size` starting at `begin`, copied
// as runs along the last axis.
napi_value Slice(napi_env env, napi_callback_info info) {
  napi_value args[7];
  if (!GetArgs(env, info, 7, args, "slice")) return nullptr;
  napi_value result;
  std::vector<int64_t> shape, begin, size;
  if (!GetDims(env, args[2], &shape) || !GetDims(env, args[3], &begin) || !GetDims(env, args[4], &size) ||
      begin.size() != shape.size() || size.size() != shape.size() || shape.empty()) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  int64_t n_in = 1, n_out = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    n_in *= shape[i];
    n_out *= size[i];
  }
  float *src, *dst;
  if (!GetFloats(env, args[0], GetInt(env, args[1]), n_in, &src) || !GetFloats(env, args[5], GetInt(env, args[6]), n_out, &dst)) {
    napi_throw_range_error(env, nullptr, "slice: an operand does not fit its buffer");
    return nullptr;
  }
  const size_t rank = shape.size();
  const std::vector<int64_t> st = Strides(shape);
  const int64_t run = size[rank - 1];
  const int64_t runs = run > 0 ? n_out / run : 0;
  ParallelFor(runs, 1024, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, offset = begin[rank - 1];
      for (int64_t i = static_cast<int64_t>(rank) - 2; i >= 0; --i) {
        const int64_t idx = rem % size[i];
        rem /= size[i];
        offset += (begin[i] + idx) * st[i];
      }
      std::memcpy(dst + r * run, src + offset, sizeof(float) * run);
    }
  });
  napi_get_boolean(env, true, &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const std::pair<const char*, napi_callback> fns[] = {{"gemmInfo", mechinterp::GemmInfoJs}, {"setGemmKernel", mechinterp::SetGemmKernelJs}, {"sgemm", Sgemm}, {"geluNew", GeluNew}, {"layerNorm", LayerNorm}, {"centerRows", CenterRows}, {"causalAttention", CausalAttention}, {"transpose", Transpose}, {"slice", Slice}, {"scaleCenterColumns", ScaleCenterColumns}};
  for (const auto& [name, cb] : fns) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
    napi_set_named_property(env, exports, name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
