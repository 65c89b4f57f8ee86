// The production CUDA backend (kernels/cuda/*.cu). It takes HOST views, as every Backend does: each
// call copies its inputs to the device, runs, and copies the results back (only the views' elements,
// never row padding), synchronously. Device-pointer entry points for kernel-only timing are in
// kernels/cuda/launchers.h.
#pragma once

#include <memory>

#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {

// Which engine runs gemm_s8s8s32 / gemm_w8a8.
enum class CudaGemmEngine {
  mma,      // the project's int8 tensor-core kernel (mma.sync m16n8k32), epilogue fused
  cublaslt  // cuBLASLt int8 (the library anchor), then the same epilogue as a separate kernel;
            // needs K % 4 == 0 and N % 4 == 0 (KernelError otherwise)
};

inline const char* to_string(CudaGemmEngine e) { return e == CudaGemmEngine::mma ? "mma" : "cublaslt"; }

struct CudaBackendOptions {
  int device = 0;
  CudaGemmEngine gemm = CudaGemmEngine::mma;
};

// Never throws for a missing device: available() then says why, and every kernel call throws
// KernelError.
std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& options = {});

}  // namespace smoothcheck::kernels
