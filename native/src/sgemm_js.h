// The N-API functions of gemm_select.cc, registered by gemm.cc's Init.
#pragma once
#include <node_api.h>

namespace mechinterp {

// gemmInfo() -> { blas: "openblas" | "accelerate" | "none", kernel: "blas" | "portable" }
napi_value GemmInfoJs(napi_env env, napi_callback_info info);
// setGemmKernel("blas" | "portable") -> whether that kernel is available (and now used)
napi_value SetGemmKernelJs(napi_env env, napi_callback_info info);

}  // namespace mechinterp
