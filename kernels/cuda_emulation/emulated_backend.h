// The CUDA backend's own source (kernels/cuda/cuda_backend.cpp and every kernels/cuda/*.cu) compiled as
// host C++ and executed on the CPU: backend "cuda-emulated". Each kernel runs block by block with its
// threads interleaving at barriers (block_scheduler.h), every access checked (memory_checker.h). Its
// GEMM is the mma kernel; cuBLASLt is not emulated.
#pragma once

#include <memory>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {

// Defined by the emulated compile of cuda_backend.cpp (emulated_names.h renames make_cuda_backend).
std::unique_ptr<Backend> make_cuda_backend_emulated(const CudaBackendOptions& options);

}  // namespace smoothcheck::kernels
