#include "cases/bench/cpu_copy_ceiling.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>

namespace smoothcheck::bench {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

std::pair<HostBuffer, HostBuffer>& CopyCeiling::buffers() {
  if (!buffers_.first.data()) {
    buffers_ = {HostBuffer(bytes_), HostBuffer(bytes_)};
    std::memset(buffers_.first.data(), 1, bytes_);
    std::memset(buffers_.second.data(), 2, bytes_);
  }
  return buffers_;
}

CopyBeside CopyCeiling::measure_beside() {
  auto& [a, b] = buffers();
  CopyBeside best;
  auto time = [&](const std::function<void()>& copy) {
    const WallClock clock;
    copy();
    best.per_wall_second = std::max(best.per_wall_second, 2.0 * double(bytes_) / clock.seconds());
    best.per_cpu_second = std::max(best.per_cpu_second, 2.0 * double(bytes_) / clock.cpu_seconds());
  };
  time([&] { threaded_copy(b.data(), a.data(), bytes_, 1); });
  time([&] { threaded_copy(a.data(), b.data(), bytes_, threads_); });
  std::fill(a.as<float>(), a.as<float>() + bytes_ / 4, 1.0f);
  time([&] { threaded_scale(b.as<float>(), a.as<float>(), bytes_ / 4, threads_); });
  return best;
}

}  // namespace smoothcheck::bench
