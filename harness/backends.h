// The backends smoothcheck can run, by name: the CPU backend (best ISA, or one ISA forced) and the CUDA
// backend (hand-written tensor-core GEMM, or the cuBLASLt GEMM as the library anchor).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck {

// "cpu", "cpu-scalar", "cpu-avx2", "cuda", "cuda-cublaslt", and "cuda-emulated" (the CUDA backend's own
// source executed on the CPU, kernels/cuda_emulation/).
std::vector<std::string> backend_names();

// Throws std::invalid_argument for an unknown name. A backend that cannot run here (no CUDA device, a
// build without nvcc, a CPU without AVX2) is still returned: its available() says why not, so that its
// cases are waived with that reason rather than silently dropped.
std::unique_ptr<kernels::Backend> make_backend(const std::string& name);

}  // namespace smoothcheck
