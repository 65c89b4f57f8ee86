// numerics.md §1: per-channel absmax, min, max, sum and abssum over the tokens of one batch.
// Threads own column ranges and walk every row in order, so each channel's sums are accumulated in
// token order on either ISA. Sums accumulate in double and round to float once at the end.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::kernels {
namespace {

// The comparisons are written as maxps/minps evaluate them (second operand unless the first wins), so
// both ISAs keep the same zero sign.
template <class IO>
void channel_stats_block(const void* x, int64_t rows, int64_t row_stride, int64_t n, float* absmax, float* min,
                         float* max, double* sum, double* abssum) {
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const typename IO::storage*>(x) + r * row_stride;
    for (int64_t j = 0; j < n; ++j) {
      float v = IO::load(row + j);
      float a = std::fabs(v);
      absmax[j] = a > absmax[j] ? a : absmax[j];
      min[j] = v < min[j] ? v : min[j];
      max[j] = v > max[j] ? v : max[j];
      sum[j] += double(v);
      abssum[j] += double(a);
    }
  }
}

}  // namespace

void CpuBackend::channel_stats(ConstMatrix x, ChannelStatsOut out) {
  validate_channel_stats(cpu::kBackend, x);
  if (x.rows == 0 || x.cols == 0) return;
  const int64_t cols = x.cols;
  // Padded to whole 8-lane vectors: the AVX2 loop updates every lane of its last vector.
  const std::size_t padded = std::size_t((cols + 7) / 8 * 8);
  std::vector<float> absmax(padded, 0.0f), min(padded, std::numeric_limits<float>::infinity()),
      max(padded, -std::numeric_limits<float>::infinity());
  std::vector<double> sum(padded, 0.0), abssum(padded, 0.0);

  // Threads own contiguous ranges of whole 8-channel strips and walk all rows over their range, so
  // each row is read as one contiguous run per thread (a narrow column block per pass would touch a
  // new page on every row: TLB misses and no prefetch). Each range is at least a 4 KiB run of every
  // row: with parallel_for's usual ~64 KiB grain a 4096-wide bf16 matrix was cut into 8 ranges of 1 KiB
  // runs, and a 1 KiB run at an 8 KiB stride is too short for the hardware prefetcher to get ahead of
  // (bf16 4096 x 4096 on 2 threads, idle machine, a minute apart: 12.9 GB/s with 1 KiB runs, 15.8 GB/s
  // with 4 KiB runs).
  const int64_t strips = (cols + 7) / 8;
  const int64_t esize = int64_t(dtype_size(x.dtype));
  constexpr int64_t kMinRunBytes = 4096;
  const int64_t grain = std::max(cpu::grain_for_bytes(x.rows * 8 * esize), kMinRunBytes / (8 * esize));
  cpu::parallel_for(strips, grain, threads(), [&](int64_t s0, int64_t s1) {
    const int64_t c0 = s0 * 8, n = std::min(s1 * 8, cols) - c0;
    const void* base = static_cast<const char*>(x.data) + c0 * esize;
    if (use_avx2()) {
      cpu::avx2::channel_stats_block(base, x.dtype, x.rows, x.row_stride, n, &absmax[c0], &min[c0], &max[c0],
                                     &sum[c0], &abssum[c0]);
    } else {
      cpu::visit_float_dtype(x.dtype, [&](auto io) {
        channel_stats_block<decltype(io)>(base, x.rows, x.row_stride, n, &absmax[c0], &min[c0], &max[c0], &sum[c0],
                                          &abssum[c0]);
      });
    }
  });

  for (int64_t j = 0; j < cols; ++j) {
    if (out.absmax) out.absmax[j] = absmax[j];
    if (out.min) out.min[j] = min[j];
    if (out.max) out.max[j] = max[j];
    if (out.sum) out.sum[j] = float(sum[j]);
    if (out.abssum) out.abssum[j] = float(abssum[j]);
  }
}

}  // namespace smoothcheck::kernels
