// The CPU kernels whose instruction counts are tracked under callgrind: each one a named call of the
// AVX2 path at a fixed small shape, single-threaded, on inputs from a fixed seed, so that the same
// binary executes the same instructions on every run (issue 6, "CI-stable tracking").
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck::perf_tracking {

struct TrackedKernel {
  std::string name;           // e.g. "quantize_per_token/bf16/t32_c1030": family, dtype/variant, shape
  std::function<void()> run;  // one call of the kernel on buffers the set owns
};

// The backend and every input/output buffer the calls use, created (and filled) up front so that a
// kernel's count covers the kernel only.
class TrackedKernelSet {
 public:
  // Throws KernelError when this CPU has no AVX2 path.
  TrackedKernelSet();
  ~TrackedKernelSet();
  const std::vector<TrackedKernel>& kernels() const { return kernels_; }

 private:
  struct Buffers;
  std::unique_ptr<kernels::Backend> backend_;
  std::unique_ptr<Buffers> buffers_;
  std::vector<TrackedKernel> kernels_;
};

}  // namespace smoothcheck::perf_tracking
