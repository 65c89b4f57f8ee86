// Row-parallel loop over [0, count) on std::threads. Work below one grain per thread runs inline on
// the caller; the chunks are contiguous and in order, so a kernel whose rows are independent gives
// the same result for every thread count.
#pragma once

#include <cstdint>
#include <functional>

namespace smoothcheck::kernels::cpu {

// fn(begin, end) is called on disjoint contiguous ranges covering [0, count). At most `threads`
// ranges, each of at least `grain` items (except when count < grain). An exception thrown by any
// range is rethrown on the caller after every thread has joined.
void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t begin, int64_t end)>& fn);

// A grain, in items, that gives each thread at least ~64 KiB of work of `bytes_per_item` bytes.
int64_t grain_for_bytes(int64_t bytes_per_item);

}  // namespace smoothcheck::kernels::cpu
