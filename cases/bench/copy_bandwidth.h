// The ceiling of the CPU's bandwidth-bound kernels: how fast this machine copies a buffer far larger
// than its caches, single-threaded (memcpy) and with one thread per core (each copying its own slice),
// plus STREAM's "scale" (b[i] = 2 a[i], one thread per core) because glibc's memcpy switches to
// non-temporal stores for buffers this large, and on some machines (VMs especially) those are slower
// than the ordinary stores every kernel uses: without it a plain in-place kernel can read "above 1".
// Bandwidth counts bytes read plus bytes written, the same accounting the kernel benchmarks use in
// SetBytesProcessed, so a kernel's fraction of it is like for like.
#pragma once

#include <cstddef>

namespace smoothcheck::bench {

struct CopyBandwidth {
  double single_thread = 0.0;  // bytes/s (read + write), best of the repetitions
  double threaded = 0.0;       // bytes/s (read + write) with `threads` threads
  double stream_scale = 0.0;   // bytes/s (read + write) of b[i] = 2 a[i] with `threads` threads
  int threads = 1;
  std::size_t buffer_bytes = 0;
  double best() const {
    const double m = single_thread > threaded ? single_thread : threaded;
    return m > stream_scale ? m : stream_scale;
  }
};

// Copies `bytes` from one buffer to another `repetitions` times each way (after a warm-up that faults
// the pages in) and keeps the fastest run of each.
CopyBandwidth measure_copy_bandwidth(std::size_t bytes, int threads, int repetitions);
// The same on two caller-owned buffers of `bytes` each, already faulted in (their contents are lost):
// a re-measurement beside a kernel costs no allocation.
CopyBandwidth measure_copy_bandwidth(void* a, void* b, std::size_t bytes, int threads, int repetitions);

// One copy of `bytes` split into `threads` contiguous slices, each copied by its own std::thread.
void threaded_copy(void* dst, const void* src, std::size_t bytes, int threads);

// dst[i] = 2 src[i] over `count` floats, split like threaded_copy, with ordinary (cached) stores.
void threaded_scale(float* dst, const float* src, std::size_t count, int threads);

}  // namespace smoothcheck::bench
