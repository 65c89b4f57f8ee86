#include "kernels/cpu/parallel_for.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace smoothcheck::kernels::cpu {

void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (count <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(std::max(threads, 1), (count + grain - 1) / grain);
  if (chunks <= 1) {
    fn(0, count);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(chunks));
  auto run = [&](int64_t c) {
    int64_t begin = count * c / chunks, end = count * (c + 1) / chunks;
    try {
      fn(begin, end);
    } catch (...) {
      errors[std::size_t(c)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(std::size_t(chunks - 1));
  for (int64_t c = 1; c < chunks; ++c) pool.emplace_back(run, c);
  run(0);  // the caller takes the first chunk instead of idling
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

int64_t grain_for_bytes(int64_t bytes_per_item) {
  constexpr int64_t kMinBytesPerThread = 64 * 1024;
  return std::max<int64_t>(1, kMinBytesPerThread / std::max<int64_t>(bytes_per_item, 1));
}

}  // namespace smoothcheck::kernels::cpu
