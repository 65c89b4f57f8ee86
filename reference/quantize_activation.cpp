// numerics.md §6: int8 quantisation of activations X [T, C], dynamic per token (one scale per row) or
// static per tensor (one given scale). With a migration scale s (numerics.md §4, migration mode) the
// quantised input is X / s, a true division per element as the seed's runtime performs it.
#include <algorithm>
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {
namespace {

using internal::require;

Matrix migrated_input(const Matrix& x, const Vector& migration_scale, const std::string& where) {
  internal::require_nonempty(x, where);
  if (migration_scale.empty()) return x;
  require(static_cast<int64_t>(migration_scale.size()) == x.cols,
          where + ": migration_scale has " + std::to_string(migration_scale.size()) + " channels, x has " +
              std::to_string(x.cols) + " columns");
  for (std::size_t j = 0; j < migration_scale.size(); ++j)
    require(migration_scale[j] > 0.0, where + ": migration_scale[" + std::to_string(j) + "] <= 0");
  return internal::matrix_from(internal::view_of(x) / internal::view_of(migration_scale));
}

double activation_code(double scaled, const ActQuantOptions& o) {
  return internal::store_int8(internal::round_to_integer(scaled, o.rounding), o.clamp);
}

}  // namespace

Quantized quantize_per_token(const Matrix& x, const Vector& migration_scale, const ActQuantOptions& o) {
  Quantized q;
  q.input = migrated_input(x, migration_scale, "quantize_per_token");
  require(o.zero_row != ZeroRow::floor || (std::isfinite(o.absmax_floor) && o.absmax_floor > 0.0f),
          "quantize_per_token: ZeroRow::floor needs a positive absmax_floor");
  const Matrix& in = q.input;
  // The row absmax skips NaN: vLLM's dynamic_scaled_int8_quant_kernel reduces with fmaxf from 0
  // (int8_quant_kernels.cu), which drops a NaN operand, so a NaN element leaves its row's scale alone
  // (its own code is 0, int8_codes.cpp) and an all-NaN row is a zero row. TensorRT-LLM's fmaxf from
  // 1e-6 and the CPU and CUDA kernels' max do the same. A row holding ±inf has absmax inf, scale inf
  // and x * 127 / inf = 0 (inf / inf = NaN -> 0): every code of that row is 0.
  const at::Tensor magnitude = internal::view_of(in).abs();
  const Vector absmax = internal::vector_from(magnitude.masked_fill(magnitude.isnan(), 0.0).amax(1));
  q.scale.resize(std::size_t(in.rows));
  q.scaled = Matrix(in.rows, in.cols);
  q.codes = Matrix(in.rows, in.cols);
  for (int64_t t = 0; t < in.rows; ++t) {
    double row_max = absmax[std::size_t(t)];
    // TensorRT-LLM starts the row max at 1e-6, lmdeploy's Triton kernel clamps it to 1e-7.
    if (o.zero_row == ZeroRow::floor) row_max = std::max(row_max, static_cast<double>(o.absmax_floor));
    // vLLM: an all-zero row has reciprocal 0, so scale 0 and codes 0 (scaled and codes stay 0).
    if (row_max == 0.0) continue;
    q.scale[std::size_t(t)] = row_max / 127.0;
    for (int64_t c = 0; c < in.cols; ++c) {
      // x / scale with scale = absmax / 127. vLLM's x * (127 / absmax) (reciprocal_multiply) and a true
      // division (divide) are this same number in exact arithmetic; they differ only in the f32
      // roundings a kernel makes, which the comparison tiers allow for near midpoints. Written as
      // x * 127 / absmax it has a single float64 rounding for f32/f16/bf16 inputs (x * 127 is exact),
      // so a value exactly on k + 0.5 stays there; x / fl(absmax / 127) would round twice.
      const double scaled = in.at(t, c) * 127.0 / row_max;
      q.scaled.at(t, c) = scaled;
      q.codes.at(t, c) = activation_code(scaled, o);
    }
  }
  return q;
}

Quantized quantize_per_tensor(const Matrix& x, const Vector& migration_scale, double scale,
                              const ActQuantOptions& o) {
  Quantized q;
  q.input = migrated_input(x, migration_scale, "quantize_per_tensor");
  require(std::isfinite(scale) && scale >= 0.0, "quantize_per_tensor: scale " + std::to_string(scale) +
                                                    " is not finite and >= 0");
  const Matrix& in = q.input;
  q.scale = {scale};
  q.scaled = Matrix(in.rows, in.cols);
  q.codes = Matrix(in.rows, in.cols);
  if (scale == 0.0) return q;  // as vLLM's zero reciprocal: codes 0
  for (int64_t t = 0; t < in.rows; ++t) {
    for (int64_t c = 0; c < in.cols; ++c) {
      // vLLM's static kernel: a true division by the calibrated scale, then o.rounding and o.clamp
      // (cvt.rni.sat in vLLM).
      const double scaled = in.at(t, c) / scale;
      q.scaled.at(t, c) = scaled;
      q.codes.at(t, c) = activation_code(scaled, o);
    }
  }
  return q;
}

}  // namespace smoothcheck::reference
