#include "kernels/cuda/cublaslt_on_demand.h"

#include <dlfcn.h>

#include "kernels/cuda/cuda_headers.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {

namespace {

#define SC_STRINGIFY_VALUE(x) SC_STRINGIFY(x)
#define SC_STRINGIFY(x) #x

void* open_library() {
  // RTLD_LOCAL: the library's symbols stay out of the global scope (only dlsym on this handle reaches
  // them), so they never compete with the definitions below.
  void* library = dlopen(cublaslt_library_name().c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* why = dlerror();
    throw KernelError("cuda-cublaslt: cannot load " + cublaslt_library_name() + ": " + (why ? why : "unknown reason"));
  }
  return library;
}

// The library's own function, of our declaration's type.
template <class F>
F real(const char* symbol) {
  return reinterpret_cast<F>(cublaslt_symbol(symbol));
}

}  // namespace

std::string cublaslt_library_name() { return "libcublasLt.so." SC_STRINGIFY_VALUE(CUBLAS_VER_MAJOR); }

void* cublaslt_symbol(const char* symbol) {
  static void* const library = open_library();  // retried on the next call if it threw
  void* f = dlsym(library, symbol);
  if (!f) throw KernelError("cuda-cublaslt: " + cublaslt_library_name() + " has no " + symbol);
  return f;
}

}  // namespace smoothcheck::kernels

// The cuBLASLt functions the backend (gemm_cublaslt.cpp, cuda_backend.cpp, cuda_check.h) and the
// benchmark's ceiling call, with <cublasLt.h>'s signatures (hence C linkage). Each resolves the
// library's function once.
#define SC_ON_DEMAND(result, name, params, args)                                           \
  result CUBLASWINAPI name params {                                                       \
    static const auto library_function = smoothcheck::kernels::real<decltype(&name)>(#name); \
    return library_function args;                                                          \
  }

SC_ON_DEMAND(cublasStatus_t, cublasLtCreate, (cublasLtHandle_t * handle), (handle))
SC_ON_DEMAND(cublasStatus_t, cublasLtDestroy, (cublasLtHandle_t handle), (handle))
SC_ON_DEMAND(const char*, cublasLtGetStatusName, (cublasStatus_t status), (status))
SC_ON_DEMAND(const char*, cublasLtGetStatusString, (cublasStatus_t status), (status))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmulDescCreate,
             (cublasLtMatmulDesc_t * desc, cublasComputeType_t compute, cudaDataType_t scale), (desc, compute, scale))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmulDescDestroy, (cublasLtMatmulDesc_t desc), (desc))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmulDescSetAttribute,
             (cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const void* buf, size_t size),
             (desc, attr, buf, size))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatrixLayoutCreate,
             (cublasLtMatrixLayout_t * layout, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld),
             (layout, type, rows, cols, ld))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatrixLayoutDestroy, (cublasLtMatrixLayout_t layout), (layout))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmulPreferenceCreate, (cublasLtMatmulPreference_t * pref), (pref))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmulPreferenceDestroy, (cublasLtMatmulPreference_t pref), (pref))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmulPreferenceSetAttribute,
             (cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, const void* buf, size_t size),
             (pref, attr, buf, size))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmulAlgoGetHeuristic,
             (cublasLtHandle_t handle, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d, cublasLtMatmulPreference_t pref, int requested,
              cublasLtMatmulHeuristicResult_t results[], int* returned),
             (handle, op, a, b, c, d, pref, requested, results, returned))
SC_ON_DEMAND(cublasStatus_t, cublasLtMatmul,
             (cublasLtHandle_t handle, cublasLtMatmulDesc_t op, const void* alpha, const void* a,
              cublasLtMatrixLayout_t a_desc, const void* b, cublasLtMatrixLayout_t b_desc, const void* beta,
              const void* c, cublasLtMatrixLayout_t c_desc, void* d, cublasLtMatrixLayout_t d_desc,
              const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspace_bytes, cudaStream_t stream),
             (handle, op, alpha, a, a_desc, b, b_desc, beta, c, c_desc, d, d_desc, algo, workspace, workspace_bytes,
              stream))
