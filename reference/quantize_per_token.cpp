// numerics.md §6: dynamic per-token int8 quantisation of activations X [T, C], one scale per row; with a
// migration scale s (numerics.md §4, migration mode) the quantised input is X / s, a true division per
// element as the seed's runtime performs it. quantize_per_token is the exact quotient x * 127 / absmax;
// quantize_per_token_f32 models the two f32 formulas ScaleMath names (activation_quantization.cpp).
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {

using internal::require;

Quantized quantize_per_token(const Matrix& x, const Vector& migration_scale, const ActQuantOptions& o) {
  Quantized q;
  q.input = internal::migrated_input(x, migration_scale, "quantize_per_token");
  const Matrix& in = q.input;
  // The row absmax skips NaN: vLLM's dynamic_scaled_int8_quant_kernel reduces with fmaxf from 0
  // (int8_quant_kernels.cu), which drops a NaN operand, so a NaN element leaves its row's scale alone
  // (its own code is 0, int8_codes.cpp) and an all-NaN row is a zero row. TensorRT-LLM's fmaxf from
  // 1e-6 and the CPU and CUDA kernels' max do the same. A row holding ±inf has absmax inf, scale inf
  // and x * 127 / inf = 0 (inf / inf = NaN -> 0): every code of that row is 0.
  const Vector absmax = internal::row_absmax_for_scale(in, o, "quantize_per_token");
  q.scale.resize(std::size_t(in.rows));
  q.scaled = Matrix(in.rows, in.cols);
  q.codes = Matrix(in.rows, in.cols);
  for (int64_t t = 0; t < in.rows; ++t) {
    const double row_max = absmax[std::size_t(t)];
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
      q.codes.at(t, c) = internal::activation_code(scaled, o);
    }
  }
  return q;
}

Quantized quantize_per_token_f32(const Matrix& x, const ActQuantOptions& o) {
  internal::require_f32_values(x, "quantize_per_token_f32");
  // A selection, exact; NaN skipped as vLLM's fmaxf does (quantize_per_token above).
  const Vector absmax = internal::row_absmax_for_scale(x, o, "quantize_per_token_f32");
  Quantized q;
  q.input = x;
  q.scale.resize(std::size_t(x.rows));
  q.scaled = Matrix(x.rows, x.cols);
  q.codes = Matrix(x.rows, x.cols);
  for (int64_t t = 0; t < x.rows; ++t) {
    const double row_max = absmax[std::size_t(t)];
    if (row_max == 0.0) continue;  // vLLM's zero reciprocal: scale 0, codes 0
    // scale = absmax / 127 and reciprocal = 127 / absmax, each one correctly rounded f32 division.
    // A row holding ±inf: scale inf and reciprocal 127 / inf = 0 (vLLM), so every code is 0.
    const double scale = internal::round_quotient_to_dtype(row_max, 127.0, DType::f32);
    const double reciprocal = std::isinf(row_max) ? 0.0 : internal::round_quotient_to_dtype(127.0, row_max, DType::f32);
    q.scale[std::size_t(t)] = scale;
    for (int64_t c = 0; c < x.cols; ++c) {
      const double scaled = internal::f32_scaled(x.at(t, c), scale, reciprocal, o.math);
      q.scaled.at(t, c) = scaled;
      q.codes.at(t, c) = internal::activation_code(scaled, o);
    }
  }
  return q;
}

}  // namespace smoothcheck::reference
