// The copy ceiling of the CPU suite's bandwidth-bound kernels (copy_bandwidth.h says what is measured):
// once at start-up, and again right after the timed loop of each DRAM-bound kernel, so that a machine
// whose load changes during the run (other jobs on a shared 2-core CI box) loads both sides of the
// ratio alike. Also the interval clock the kernel rows and the re-measurements share.
#pragma once

#include <chrono>
#include <cstddef>
#include <utility>

#include "cases/bench/copy_bandwidth.h"
#include "cases/bench/host_buffer.h"

namespace smoothcheck::bench {

// CPU time of the whole process (every thread), in seconds.
double process_cpu_seconds();

// Wall time of a benchmark's timed loop, read right after it: the same interval UseRealTime() reports,
// so a fraction set from it as a plain counter is bytes_per_second / ceiling (a rate counter would do
// the same division but print the fraction as "x/s"). Also the CPU time of the whole process (every
// thread) over the same interval, for the CPU-time-normalised ratio of the kernel rows.
class WallClock {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }
  double cpu_seconds() const { return process_cpu_seconds() - cpu0_; }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  double cpu0_ = process_cpu_seconds();
};

// The copy ceiling beside a kernel: the best of memcpy, the threaded copy and STREAM scale (one pass
// each), in read + written bytes per wall second and per second of process CPU time (all threads).
struct CopyBeside {
  double per_wall_second = 0.0, per_cpu_second = 0.0;
};

class CopyCeiling {
 public:
  CopyCeiling(std::size_t bytes, int threads) : bytes_(bytes), threads_(threads) {}

  void measure_at_startup(int repetitions) { startup_ = measure_copy_bandwidth(bytes_, threads_, repetitions); }
  const CopyBandwidth& startup() const { return startup_; }
  std::size_t bytes() const { return bytes_; }
  int threads() const { return threads_; }

  // The two buffers of `bytes` each, faulted in on first use and shared by the copy rows and by the
  // re-measurements beside the kernels.
  std::pair<HostBuffer, HostBuffer>& buffers();
  CopyBeside measure_beside();

 private:
  std::size_t bytes_;
  int threads_;
  CopyBandwidth startup_;
  std::pair<HostBuffer, HostBuffer> buffers_;
};

}  // namespace smoothcheck::bench
