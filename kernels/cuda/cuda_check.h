// Every CUDA runtime and cuBLASLt call of the backend goes through these macros: a failure becomes a
// kernels::KernelError naming the call, the file, the line and the runtime's own message.
#pragma once

#include "kernels/cuda/cuda_headers.h"

#include <string>

#include "kernels/kernel_api.h"

namespace smoothcheck::kernels::cuda_detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  throw KernelError(std::string("CUDA error: ") + call + " at " + file + ":" + std::to_string(line) + ": " +
                    cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t s, const char* call, const char* file, int line) {
  throw KernelError(std::string("cuBLASLt error: ") + call + " at " + file + ":" + std::to_string(line) + ": " +
                    cublasLtGetStatusName(s) + ": " + cublasLtGetStatusString(s));
}

}  // namespace smoothcheck::kernels::cuda_detail

#define SC_CUDA_CHECK(call)                                                                  \
  do {                                                                                       \
    cudaError_t sc_cuda_status_ = (call);                                                    \
    if (sc_cuda_status_ != cudaSuccess)                                                      \
      ::smoothcheck::kernels::cuda_detail::throw_cuda_error(sc_cuda_status_, #call, __FILE__, \
                                                            __LINE__);                       \
  } while (0)

// After a <<<...>>> launch: the launch's own error (bad configuration, too many resources). The
// kernel's execution error surfaces at the next checked copy or synchronisation (the backend is
// synchronous).
#define SC_CUDA_CHECK_LAUNCH(kernel_name)                                                        \
  do {                                                                                           \
    cudaError_t sc_cuda_status_ = cudaGetLastError();                                            \
    if (sc_cuda_status_ != cudaSuccess)                                                          \
      ::smoothcheck::kernels::cuda_detail::throw_cuda_error(sc_cuda_status_, "launch of " kernel_name, \
                                                            __FILE__, __LINE__);                 \
  } while (0)

#define SC_CUBLAS_CHECK(call)                                                                  \
  do {                                                                                         \
    cublasStatus_t sc_cublas_status_ = (call);                                                 \
    if (sc_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                            \
      ::smoothcheck::kernels::cuda_detail::throw_cublas_error(sc_cublas_status_, #call, __FILE__, \
                                                              __LINE__);                       \
  } while (0)
