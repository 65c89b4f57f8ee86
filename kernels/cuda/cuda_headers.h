// The CUDA runtime and cuBLASLt declarations the backend's host code uses, or, when this source is
// compiled as host C++ for the CPU emulation (SC_CUDA_EMULATION, kernels/cuda_emulation/), the
// emulation's stand-ins with the same names.
#pragma once

#if defined(SC_CUDA_EMULATION)
#include "kernels/cuda_emulation/cuda_runtime.h"
#else
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#endif
