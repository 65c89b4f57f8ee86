// numerics.md §5 with each step rounded to f32 as the public quantisers compute it for an f32 weight
// (lmdeploy QLinear.from_float, the SmoothQuant authors' fake quant, compressed-tensors'
// calculate_qparams and quantize: scale = absmax / divisor in f32, then w / scale in f32). Where the
// exact value w * divisor / absmax is a tie (a constant row is all ties under compressed-tensors:
// +-127.5), the f32 roundings of the scale and of the quotient decide the code, so a case comparing
// such rows with zero allowance needs this model. Each step is one correctly rounded f32 operation
// (internal::round_quotient_to_dtype).
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {
namespace {

double f32_row_scale(double absmax, WeightQuant variant) {
  switch (variant) {
    case WeightQuant::lmdeploy: return internal::round_quotient_to_dtype(absmax, 127.0, DType::f32);
    // fake_quant.py: clamp(min=1e-5) on the f32 tensor, so the floor is 1e-5 rounded to f32.
    case WeightQuant::smoothquant:
      return internal::round_quotient_to_dtype(std::max(absmax, round_to_dtype(1e-5, DType::f32)), 127.0, DType::f32);
    case WeightQuant::compressed_tensors: {  // eps only where the f32 scale is 0 (torch.where)
      const double s = internal::round_quotient_to_dtype(absmax, 127.5, DType::f32);
      return s == 0.0 ? double(FLT_EPSILON) : s;
    }
  }
  internal::require(false, "quantize_weight_f32: unknown WeightQuant");
  return 0.0;
}

}  // namespace

Quantized quantize_weight_f32(const Matrix& w, WeightQuant variant) {
  internal::require_nonempty(w, "quantize_weight_f32");
  for (double v : w.values)
    internal::require(std::isfinite(v) && round_to_dtype(v, DType::f32) == v, "quantize_weight_f32: w holds a value that is not an f32");
  const Vector absmax = internal::vector_from(internal::view_of(w).abs().amax(1));  // a selection: exact
  Quantized q;
  q.input = w;
  q.scale.resize(std::size_t(w.rows));
  q.scaled = Matrix(w.rows, w.cols);
  q.codes = Matrix(w.rows, w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    const double scale = f32_row_scale(absmax[std::size_t(r)], variant);
    q.scale[std::size_t(r)] = scale;
    if (scale == 0.0) continue;  // lmdeploy's zero row: codes 0 (smoothcheck's choice, as quantize_weight)
    for (int64_t c = 0; c < w.cols; ++c) {
      const double scaled = internal::round_quotient_to_dtype(w.at(r, c), scale, DType::f32);
      q.scaled.at(r, c) = scaled;
      q.codes.at(r, c) = internal::weight_code(scaled, variant);
    }
  }
  return q;
}

}  // namespace smoothcheck::reference
