// Row-parallel loop over [0, count) on a persistent worker pool (parallel_for.cpp). Work below two
// grains runs inline on the caller; the chunks are fixed and contiguous, so a kernel whose rows are
// independent gives the same result for every thread count and every schedule.
#pragma once

#include <cstdint>
#include <functional>

namespace smoothcheck::kernels::cpu {

// fn(begin, end) is called on disjoint contiguous ranges covering [0, count), by at most `threads`
// threads at once (the caller included): at most 4 ranges per thread, each of about `grain` items
// or more (one range when count < 2 grains or threads == 1). An exception thrown by any range is
// rethrown on the caller after every range has finished.
void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t begin, int64_t end)>& fn);

// A grain, in items, that gives each range at least ~64 KiB of work of `bytes_per_item` bytes.
int64_t grain_for_bytes(int64_t bytes_per_item);

// Every core the machine reports (at least 1): the thread count of callers outside a backend.
int all_cores();

}  // namespace smoothcheck::kernels::cpu
