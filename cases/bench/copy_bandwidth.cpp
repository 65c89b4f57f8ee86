#include "cases/bench/copy_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "cases/bench/host_buffer.h"

namespace smoothcheck::bench {

void threaded_copy(void* dst, const void* src, std::size_t bytes, int threads) {
  if (threads <= 1) {
    std::memcpy(dst, src, bytes);
    return;
  }
  // Slices rounded to 4 KiB so that no two threads write into the same page.
  const std::size_t slice = (bytes / std::size_t(threads) + 4095) / 4096 * 4096;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    const std::size_t begin = std::min(bytes, std::size_t(t) * slice);
    const std::size_t end = std::min(bytes, begin + slice);
    if (begin == end) break;
    pool.emplace_back(
        [=] { std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, end - begin); });
  }
  for (auto& th : pool) th.join();
}

void threaded_scale(float* dst, const float* src, std::size_t count, int threads) {
  auto scale = [](float* d, const float* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) d[i] = 2.0f * s[i];  // vectorised by the compiler, not a memcpy
  };
  if (threads <= 1) {
    scale(dst, src, count);
    return;
  }
  const std::size_t slice = (count / std::size_t(threads) + 1023) / 1024 * 1024;  // whole 4 KiB pages
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    const std::size_t begin = std::min(count, std::size_t(t) * slice);
    const std::size_t end = std::min(count, begin + slice);
    if (begin == end) break;
    pool.emplace_back([=] { scale(dst + begin, src + begin, end - begin); });
  }
  for (auto& th : pool) th.join();
}

CopyBandwidth measure_copy_bandwidth(std::size_t bytes, int threads, int repetitions) {
  HostBuffer a(bytes), b(bytes);
  // Touch every page first: the first write to fresh memory pays for page faults, not bandwidth.
  std::memset(a.data(), 1, bytes);
  std::memset(b.data(), 2, bytes);
  return measure_copy_bandwidth(a.data(), b.data(), bytes, threads, repetitions);
}

CopyBandwidth measure_copy_bandwidth(void* a, void* b, std::size_t bytes, int threads, int repetitions) {
  CopyBandwidth r;
  r.threads = std::max(1, threads);
  r.buffer_bytes = bytes;
  auto time_one = [&](int t, void* dst, const void* src) {
    const auto t0 = std::chrono::steady_clock::now();
    threaded_copy(dst, src, bytes, t);
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(t1 - t0).count();
  };
  // Finite floats for the scale loop (memset's 0x01 bytes are tiny denormals, slow on some CPUs).
  float* fa = static_cast<float*>(a);
  float* fb = static_cast<float*>(b);
  std::fill(fa, fa + bytes / 4, 1.0f);
  auto time_scale = [&](float* dst, const float* src) {
    const auto t0 = std::chrono::steady_clock::now();
    threaded_scale(dst, src, bytes / 4, r.threads);
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(t1 - t0).count();
  };
  double best_single = 1e30, best_threaded = 1e30, best_scale = 1e30;
  for (int i = 0; i < std::max(1, repetitions); ++i) {
    // Alternate the direction so that neither buffer stays hot in the last-level cache.
    best_single = std::min(best_single, time_one(1, b, a));
    best_threaded = std::min(best_threaded, time_one(r.threads, a, b));
    best_scale = std::min(best_scale, time_scale(fb, fa));
    best_scale = std::min(best_scale, time_scale(fa, fb));
  }
  r.single_thread = 2.0 * double(bytes) / best_single;
  r.threaded = 2.0 * double(bytes) / best_threaded;
  r.stream_scale = 2.0 * double(bytes / 4 * 4) / best_scale;
  return r;
}

}  // namespace smoothcheck::bench
