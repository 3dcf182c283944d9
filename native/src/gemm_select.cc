// gemmInfo() and setGemmKernel(name) for JavaScript: which BLAS the build linked and which
// matrix-multiply kernel runs now (see sgemm.h). The bench and the tests use them to run both.
#include <node_api.h>

#include <string>

#include "sgemm.h"
#include "sgemm_js.h"

namespace mechinterp {

napi_value GemmInfoJs(napi_env env, napi_callback_info) {
  napi_value result, blas, kernel;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, BlasName(), NAPI_AUTO_LENGTH, &blas);
  const bool portable = CurrentGemmKernel() == GemmKernel::kPortable;
  napi_create_string_utf8(env, portable ? "portable" : "blas", NAPI_AUTO_LENGTH, &kernel);
  napi_set_named_property(env, result, "blas", blas);
  napi_set_named_property(env, result, "kernel", kernel);
  return result;
}

napi_value SetGemmKernelJs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, args[0], &type);
  if (type != napi_string) {
    napi_throw_type_error(env, nullptr, "setGemmKernel: expected \"blas\" or \"portable\"");
    return nullptr;
  }
  char name[16] = {0};
  size_t len = 0;
  napi_get_value_string_utf8(env, args[0], name, sizeof name, &len);
  const std::string which(name, len);
  if (which != "blas" && which != "portable") {
    napi_throw_type_error(env, nullptr, "setGemmKernel: expected \"blas\" or \"portable\"");
    return nullptr;
  }
  napi_value result;
  napi_get_boolean(env, SetGemmKernel(which == "blas" ? GemmKernel::kBlas : GemmKernel::kPortable), &result);
  return result;
}

}  // namespace mechinterp
