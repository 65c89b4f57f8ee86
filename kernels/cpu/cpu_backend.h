// The production CPU backend: AVX2/FMA/F16C inner loops chosen at run time, a portable scalar path
// for every other x86-64 or non-x86 machine, threaded over rows.
#pragma once

#include <memory>

#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {

enum class CpuIsa {
  best,    // the widest this CPU supports (AVX2 + FMA + F16C when present)
  scalar,  // the portable path, always available
  avx2
};

struct CpuBackendOptions {
  CpuIsa isa = CpuIsa::best;
  int threads = 0;  // 0: std::thread::hardware_concurrency()
};

// Throws KernelError when the requested ISA is not supported by this CPU.
std::unique_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options = {});

// Whether this CPU (and build) can run the AVX2 path.
bool cpu_supports_avx2();

}  // namespace smoothcheck::kernels
