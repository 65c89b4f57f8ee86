// The CPU suite's KernelBenchTarget: a CPU backend's kernels on host buffers, timed by wall clock
// (UseRealTime), with the fractions of the copy ceiling measured in the same run (cpu_copy_ceiling.h) and
// of LibTorch's GEMMs (torch_gemm_ceilings.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cases/bench/cpu_copy_ceiling.h"
#include "cases/bench/host_buffer.h"
#include "cases/bench/kernel_bench_target.h"

namespace smoothcheck::bench {

// Inputs of 45 M elements take a while to fill and Google Benchmark calls a benchmark function several
// times while it sizes the iteration count, so buffers are cached by key. Every call of a benchmark
// opens a new generation; when the cache outgrows its budget, the entries that the current call has not
// touched are dropped (never one the running benchmark holds).
class HostBufferCache {
 public:
  void new_generation() { ++generation_; }
  HostBuffer& get(const std::string& key, std::size_t bytes, const std::function<HostBuffer()>& make);

 private:
  static constexpr std::size_t kBudget = std::size_t(3) << 30;
  struct Entry {
    HostBuffer buffer;
    uint64_t generation;
  };
  void evict_stale();
  std::map<std::string, Entry> entries_;
  std::size_t total_ = 0;
  uint64_t generation_ = 0;
};

// The target of one CPU backend; every object is owned by the caller and outlives it, and targets of
// several ISAs share one cache.
std::unique_ptr<KernelBenchTarget> make_cpu_bench_target(kernels::Backend& backend, HostBufferCache& cache,
                                                         CopyCeiling& copy);

}  // namespace smoothcheck::bench
