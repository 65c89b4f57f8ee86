// numerics.md §6, the two f32 formulas of the quotient x / scale that ScaleMath names, each modelled
// operation by operation: vLLM's dynamic kernel multiplies by the f32 reciprocal 127 / absmax
// (csrc/quantization/compressed_tensors/int8_quant_kernels.cu), its static kernel and lmdeploy's
// Triton kernel divide by the f32 scale. In exact arithmetic both are x * 127 / absmax (what
// quantize_per_token computes); they differ by an f32 ulp or two, which moves a code wherever the two
// results straddle a rounding boundary. A case that compares codes with zero allowance on inputs
// chosen there needs the named formula's f32 result, so this file rounds each step to f32, correctly
// (internal::round_quotient_to_dtype / round_product_to_dtype), from the float64 operands.
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {
namespace {

using internal::require;

// The f32 value the named formula gives for x / scale, where the f32 scale and reciprocal were rounded
// from their exact definitions.
double f32_scaled(double x, double scale_f32, double reciprocal_f32, ScaleMath math) {
  // An infinite or NaN operand (a NaN element, a row holding ±inf: scale inf, reciprocal 0) gives 0, ±inf
  // or NaN, exactly: no residual to take.
  if (!std::isfinite(x) || !std::isfinite(scale_f32))
    return math == ScaleMath::divide ? x / scale_f32 : x * reciprocal_f32;
  switch (math) {
    case ScaleMath::divide: return internal::round_quotient_to_dtype(x, scale_f32, DType::f32);
    case ScaleMath::reciprocal_multiply: return internal::round_product_to_dtype(x, reciprocal_f32, DType::f32);
  }
  require(false, "f32_scaled: unknown ScaleMath");
  return 0.0;
}

// NaN and ±inf are f32 values too: vLLM's kernel gives them the codes of int8_codes.cpp (0).
void require_f32_values(const Matrix& x, const std::string& where) {
  internal::require_nonempty(x, where);
  for (double v : x.values)
    require(!std::isfinite(v) || round_to_dtype(v, DType::f32) == v, where + ": x holds a value that is not an f32");
}

}  // namespace

Quantized quantize_per_token_f32(const Matrix& x, const ActQuantOptions& o) {
  require_f32_values(x, "quantize_per_token_f32");
  require(o.zero_row != ZeroRow::floor || (std::isfinite(o.absmax_floor) && o.absmax_floor > 0.0f),
          "quantize_per_token_f32: ZeroRow::floor needs a positive absmax_floor");
  // A selection, exact; NaN skipped as vLLM's fmaxf does (quantize_activation.cpp).
  const at::Tensor magnitude = internal::view_of(x).abs();
  const Vector absmax = internal::vector_from(magnitude.masked_fill(magnitude.isnan(), 0.0).amax(1));
  Quantized q;
  q.input = x;
  q.scale.resize(std::size_t(x.rows));
  q.scaled = Matrix(x.rows, x.cols);
  q.codes = Matrix(x.rows, x.cols);
  for (int64_t t = 0; t < x.rows; ++t) {
    double row_max = absmax[std::size_t(t)];
    if (o.zero_row == ZeroRow::floor) row_max = std::max(row_max, static_cast<double>(o.absmax_floor));
    if (row_max == 0.0) continue;  // vLLM's zero reciprocal: scale 0, codes 0
    // scale = absmax / 127 and reciprocal = 127 / absmax, each one correctly rounded f32 division.
    // A row holding ±inf: scale inf and reciprocal 127 / inf = 0 (vLLM), so every code is 0.
    const double scale = internal::round_quotient_to_dtype(row_max, 127.0, DType::f32);
    const double reciprocal = std::isinf(row_max) ? 0.0 : internal::round_quotient_to_dtype(127.0, row_max, DType::f32);
    q.scale[std::size_t(t)] = scale;
    for (int64_t c = 0; c < x.cols; ++c) {
      const double scaled = f32_scaled(x.at(t, c), scale, reciprocal, o.math);
      q.scaled.at(t, c) = scaled;
      q.codes.at(t, c) = internal::store_int8(internal::round_to_integer(scaled, o.rounding), o.clamp);
    }
  }
  return q;
}

Quantized quantize_per_tensor_f32(const Matrix& x, double scale, const ActQuantOptions& o) {
  require_f32_values(x, "quantize_per_tensor_f32");
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
    const double scaled = f32_scaled(x.values[i], scale, reciprocal, o.math);
    q.scaled.values[i] = scaled;
    q.codes.values[i] = internal::store_int8(internal::round_to_integer(scaled, o.rounding), o.clamp);
  }
  return q;
}

}  // namespace smoothcheck::reference
