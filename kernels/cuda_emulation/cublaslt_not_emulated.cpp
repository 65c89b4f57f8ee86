// The cuBLASLt GEMM (kernels/cuda/gemm_cublaslt.cpp) calls a closed library that runs only on a GPU;
// the emulated backend always runs the project's own mma kernel, so this launcher is never reached
// from it. It exists so that the backend's source links unchanged, and says why if it is ever called.
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {

void cublaslt_gemm_s8s8s32(cublasLtHandle_t, const int8_t*, const int8_t*, int32_t*, int64_t, int64_t, int64_t, void*,
                           size_t, cudaStream_t) {
  throw KernelError("cuBLASLt is not emulated: it runs on a GPU only (backend cuda-cublaslt)");
}

}  // namespace smoothcheck::kernels::cuda_launch
