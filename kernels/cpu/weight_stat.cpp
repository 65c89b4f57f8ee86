// numerics.md §2: the weight statistic w_j of the fcs that share one input, stacked along rows.
//   smoothquant:   max(max_r |W[r,j]|, 1e-5)
//   llmcompressor: 2 * max_r |W[r,j]|
//   lmdeploy:      mean_r |W[r,j]| / (absmax of W[r,j]'s row or group), the quotient in f32, the mean
//                  accumulated in double over every row of every fc, rounded to f32 once.
// lmdeploy's 1e-4 clamp of the absmax is all or nothing (lmdeploy 0.18.0 lite/quantization/awq.py
// get_weight_scale, lines 150-153): every row (group) absmax of the whole stack is clamped to 1e-4 only
// when the smallest of them is exactly 0, otherwise none is, however small.
// With no rows at all (every fc [0, C]) nothing is written.
// In a bf16/f16 arithmetic dtype (numerics.h, "smoothing in the model's dtype") every step is rounded to
// it as torch computes get_weight_scale on such tensors: the floors cast to it, each quotient rounded
// to it, the mean a float32 sum divided by the row count and rounded to it (at::mean of a reduced float).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cpu/absmax.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels {
namespace {

// Columns per task. Each task walks every row for its columns, so a row contributes one contiguous run
// of kBlock columns: at 256 (1 KiB of f32) the hardware prefetcher hardly started before the next row's
// jump, and quantize's weight statistic at 1.1B ran at a third of memory speed. 1024 columns keep the
// float64 sums (8 KiB) in L1 and give a 2048-wide model's two cores one strip each.
constexpr int64_t kBlock = 1024;
constexpr float kLmdeployRowFloor = 1e-4f;

template <class IO>
void column_absmax_block(const void* w, int64_t rows, int64_t row_stride, int64_t n, float* absmax) {
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const typename IO::storage*>(w) + r * row_stride;
    for (int64_t j = 0; j < n; ++j) {
      float a = std::fabs(IO::load(row + j));
      absmax[j] = a > absmax[j] ? a : absmax[j];
    }
  }
}

template <class IO>
void accumulate_normalized(const void* w, int64_t c0, int64_t n, const float* amax, int64_t group, DType arithmetic,
                           double* acc) {
  const auto* row = static_cast<const typename IO::storage*>(w);
  for (int64_t j = 0; j < n; ++j)
    acc[j] += double(numerics::round_to(numerics::div_rn(std::fabs(IO::load(row + j)), amax[(c0 + j) / group]), arithmetic));
}

}  // namespace

void CpuBackend::weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                             DType arithmetic) {
  validate_weight_stat(cpu::kBackend, fcs, fc_count, recipe, group_size, w, arithmetic);
  const int64_t cols = fcs[0].cols;
  int64_t total_rows = 0;
  for (int i = 0; i < fc_count; ++i) total_rows += fcs[i].rows;
  if (cols == 0 || total_rows == 0) return;

  const int64_t blocks = (cols + kBlock - 1) / kBlock;
  const std::size_t padded = std::size_t((cols + 7) / 8 * 8);  // whole AVX2 vectors

  if (recipe != Recipe::lmdeploy) {
    std::vector<float> absmax(padded, 0.0f);
    cpu::parallel_for(blocks, cpu::grain_for_bytes(total_rows * kBlock * 2), threads(), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t c0 = b * kBlock, n = std::min(kBlock, cols - c0);
        for (int i = 0; i < fc_count; ++i) {
          const ConstMatrix& fc = fcs[i];
          if (fc.rows == 0) continue;
          const void* base = static_cast<const char*>(fc.data) + c0 * int64_t(dtype_size(fc.dtype));
          if (use_avx2()) {
            cpu::avx2::column_absmax_block(base, fc.dtype, fc.rows, fc.row_stride, n, &absmax[c0]);
          } else {
            cpu::visit_float_dtype(fc.dtype, [&](auto io) {
              column_absmax_block<decltype(io)>(base, fc.rows, fc.row_stride, n, &absmax[c0]);
            });
          }
        }
      }
    });
    const float floor = numerics::round_to(1e-5f, arithmetic);  // clamp(min=1e-5) on a tensor of that dtype
    for (int64_t j = 0; j < cols; ++j)
      w[j] = recipe == Recipe::smoothquant ? std::fmax(absmax[j], floor)
                                           : numerics::round_to(numerics::mul_rn(2.0f, absmax[j]), arithmetic);
    return;
  }

  // lmdeploy: each row's (or group's) absmax first, in parallel over rows; then the column means.
  const int64_t group = group_size > 0 ? group_size : cols;
  const int64_t groups = cols / group;
  std::vector<float> amax(std::size_t(total_rows * groups));
  std::vector<std::pair<int, int64_t>> row_owner;  // global row -> (fc, row)
  row_owner.reserve(std::size_t(total_rows));
  for (int i = 0; i < fc_count; ++i)
    for (int64_t r = 0; r < fcs[i].rows; ++r) row_owner.emplace_back(i, r);

  cpu::parallel_for(total_rows, cpu::grain_for_bytes(cols * 2), threads(), [&](int64_t r0, int64_t r1) {
    for (int64_t g = r0; g < r1; ++g) {
      const ConstMatrix& fc = fcs[row_owner[std::size_t(g)].first];
      const char* row = static_cast<const char*>(cpu::row_ptr(fc, row_owner[std::size_t(g)].second));
      for (int64_t k = 0; k < groups; ++k) {
        amax[std::size_t(g * groups + k)] = cpu::absmax_row(row + k * group * int64_t(dtype_size(fc.dtype)),
                                                            fc.dtype, nullptr, group, use_avx2());
      }
    }
  });
  // torch's min() propagates NaN and NaN == 0 is false: a NaN absmax anywhere means no clamp.
  bool any_zero = false, any_nan = false;
  for (float m : amax) {
    any_zero |= m == 0.0f;
    any_nan |= std::isnan(m);
  }
  if (any_zero && !any_nan)
    for (float& m : amax) m = std::fmax(m, numerics::round_to(kLmdeployRowFloor, arithmetic));

  std::vector<double> acc(padded, 0.0);
  cpu::parallel_for(blocks, cpu::grain_for_bytes(total_rows * kBlock * 2), threads(), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t c0 = b * kBlock, n = std::min(kBlock, cols - c0);
      int64_t g = 0;  // global row, in stacking order
      for (int i = 0; i < fc_count; ++i) {
        const ConstMatrix& fc = fcs[i];
        for (int64_t r = 0; r < fc.rows; ++r, ++g) {
          const void* base = static_cast<const char*>(cpu::row_ptr(fc, r)) + c0 * int64_t(dtype_size(fc.dtype));
          const float* row_amax = &amax[std::size_t(g * groups)];
          if (use_avx2()) {
            cpu::avx2::accumulate_normalized(base, fc.dtype, c0, n, row_amax, group, arithmetic, &acc[c0]);
          } else {
            cpu::visit_float_dtype(fc.dtype, [&](auto io) {
              accumulate_normalized<decltype(io)>(base, c0, n, row_amax, group, arithmetic, &acc[c0]);
            });
          }
        }
      }
    }
  });
  for (int64_t j = 0; j < cols; ++j) w[j] = numerics::round_to(float(acc[j] / double(total_rows)), arithmetic);
}

}  // namespace smoothcheck::kernels
