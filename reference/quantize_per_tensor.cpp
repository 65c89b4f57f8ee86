// numerics.md §6: static per-tensor int8 quantisation of activations X [T, C] by one calibrated scale;
// with a migration scale s the quantised input is X / s. quantize_per_tensor is the exact quotient;
// quantize_per_tensor_f32 models the two f32 formulas ScaleMath names (activation_quantization.cpp).
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {

using internal::require;

Quantized quantize_per_tensor(const Matrix& x, const Vector& migration_scale, double scale,
                              const ActQuantOptions& o) {
  Quantized q;
  q.input = internal::migrated_input(x, migration_scale, "quantize_per_tensor");
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
      q.codes.at(t, c) = internal::activation_code(scaled, o);
    }
  }
  return q;
}

Quantized quantize_per_tensor_f32(const Matrix& x, double scale, const ActQuantOptions& o) {
  internal::require_f32_values(x, "quantize_per_tensor_f32");
  require(std::isfinite(scale) && scale > 0.0 && round_to_dtype(scale, DType::f32) == scale,
          "quantize_per_tensor_f32: scale must be a positive finite f32");
  // vLLM's static kernel divides by the scale; the reciprocal form multiplies by fl(1 / scale).
  const double reciprocal = internal::round_quotient_to_dtype(1.0, scale, DType::f32);
  Quantized q;
  q.input = x;
  q.scale = {scale};
  q.scaled = Matrix(x.rows, x.cols);
  q.codes = Matrix(x.rows, x.cols);
  for (std::size_t i = 0; i < x.values.size(); ++i) {
    const double scaled = internal::f32_scaled(x.values[i], scale, reciprocal, o.math);
    q.scaled.values[i] = scaled;
    q.codes.values[i] = internal::activation_code(scaled, o);
  }
  return q;
}

}  // namespace smoothcheck::reference
