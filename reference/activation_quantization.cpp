// numerics.md §6, what the per-token and per-tensor activation quantisers share (quantize_per_token.cpp,
// quantize_per_tensor.cpp): the migrated input X / s, the code of a quotient, the row absmax, and the two
// f32 formulas of the quotient x / scale that ScaleMath names, each modelled operation by operation: vLLM's dynamic kernel multiplies by the f32 reciprocal 127 / absmax
// (csrc/quantization/compressed_tensors/int8_quant_kernels.cu), its static kernel and lmdeploy's
// Triton kernel divide by the f32 scale. In exact arithmetic both are x * 127 / absmax (what
// quantize_per_token computes); they differ by an f32 ulp or two, which moves a code wherever the two
// results straddle a rounding boundary. A case that compares codes with zero allowance on inputs
// chosen there needs the named formula's f32 result, so this file rounds each step to f32, correctly
// (round_quotient_to_dtype / round_product_to_dtype), from the float64 operands.
#include <algorithm>
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference::internal {

Matrix migrated_input(const Matrix& x, const Vector& migration_scale, const std::string& where) {
  require_nonempty(x, where);
  if (migration_scale.empty()) return x;
  require(static_cast<int64_t>(migration_scale.size()) == x.cols,
          where + ": migration_scale has " + std::to_string(migration_scale.size()) + " channels, x has " +
              std::to_string(x.cols) + " columns");
  for (std::size_t j = 0; j < migration_scale.size(); ++j)
    require(migration_scale[j] > 0.0, where + ": migration_scale[" + std::to_string(j) + "] <= 0");
  return matrix_from(view_of(x) / view_of(migration_scale));
}

double activation_code(double scaled, const ActQuantOptions& o) {
  return store_int8(round_to_integer(scaled, o.rounding), o.clamp);
}

// The f32 value the named formula gives for x / scale, where the f32 scale and reciprocal were rounded
// from their exact definitions.
double f32_scaled(double x, double scale_f32, double reciprocal_f32, ScaleMath math) {
  // An infinite or NaN operand (a NaN element, a row holding ±inf: scale inf, reciprocal 0) gives 0, ±inf
  // or NaN, exactly: no residual to take.
  if (!std::isfinite(x) || !std::isfinite(scale_f32))
    return math == ScaleMath::divide ? x / scale_f32 : x * reciprocal_f32;
  switch (math) {
    case ScaleMath::divide: return round_quotient_to_dtype(x, scale_f32, DType::f32);
    case ScaleMath::reciprocal_multiply: return round_product_to_dtype(x, reciprocal_f32, DType::f32);
  }
  require(false, "f32_scaled: unknown ScaleMath");
  return 0.0;
}

// NaN and ±inf are f32 values too: vLLM's kernel gives them the codes of int8_codes.cpp (0).
void require_f32_values(const Matrix& x, const std::string& where) {
  require_nonempty(x, where);
  for (double v : x.values)  // the message is built only for a value that fails (this loop is per element)
    if (std::isfinite(v) && round_to_dtype(v, DType::f32) != v)
      require(false, where + ": x holds a value that is not an f32");
}

Vector row_absmax_for_scale(const Matrix& x, const ActQuantOptions& o, const std::string& where) {
  require(o.zero_row != ZeroRow::floor || (std::isfinite(o.absmax_floor) && o.absmax_floor > 0.0f),
          where + ": ZeroRow::floor needs a positive absmax_floor");
  const at::Tensor magnitude = view_of(x).abs();
  Vector absmax = vector_from(magnitude.masked_fill(magnitude.isnan(), 0.0).amax(1));
  // TensorRT-LLM starts the row max at 1e-6, lmdeploy's Triton kernel clamps it to 1e-7.
  if (o.zero_row == ZeroRow::floor)
    for (double& m : absmax) m = std::max(m, static_cast<double>(o.absmax_floor));
  return absmax;
}

}  // namespace smoothcheck::reference::internal
