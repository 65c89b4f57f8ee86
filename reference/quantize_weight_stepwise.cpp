// numerics.md §5 with each step rounded as the public quantisers compute it: lmdeploy
// (QLinear.from_float) in float32 after casting the weight; the SmoothQuant authors' fake quant and
// compressed-tensors (calculate_qparams, then quantize) in place in the weight's own dtype, each
// operation correctly rounded to float32 and then to that dtype, as torch's CPU kernels for float16 and
// bfloat16 do. The scale is absmax / divisor so rounded, then w / scale so rounded. Where the exact
// value w * divisor / absmax is a tie (a constant row is all ties under compressed-tensors: +-127.5),
// or where a float16/bfloat16 quotient rounds across a half, these roundings decide the code, so a case
// comparing such rows with zero allowance needs this model rather than the ideal (quantize_weight.cpp).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {
namespace {

// torch.finfo(dtype).eps, compressed-tensors' replacement for a zero scale.
double dtype_eps(DType t) {
  if (t == DType::bf16) return std::ldexp(1.0, -7);
  if (t == DType::f16) return std::ldexp(1.0, -10);
  return double(FLT_EPSILON);
}

double stepwise_row_scale(double absmax, WeightQuant variant, DType arithmetic) {
  switch (variant) {
    case WeightQuant::lmdeploy: return internal::quotient_via_f32(absmax, 127.0, DType::f32);
    // fake_quant.py: clamp_(min=1e-5) with the bound cast to the tensor's dtype, then div_(127).
    case WeightQuant::smoothquant:
      return internal::quotient_via_f32(std::max(absmax, round_to_dtype(1e-5, arithmetic)), 127.0, arithmetic);
    case WeightQuant::compressed_tensors: {  // the dtype's eps only where the scale is 0 (torch.where)
      const double s = internal::quotient_via_f32(absmax, 127.5, arithmetic);
      return s == 0.0 ? dtype_eps(arithmetic) : s;
    }
  }
  internal::require(false, "quantize_weight_stepwise: unknown WeightQuant");
  return 0.0;
}

}  // namespace

DType weight_arithmetic_dtype(WeightQuant variant, DType stored) {
  if (variant == WeightQuant::lmdeploy) return DType::f32;
  return stored == DType::f16 || stored == DType::bf16 ? stored : DType::f32;
}

Quantized quantize_weight_stepwise(const Matrix& w, WeightQuant variant, DType stored) {
  internal::require_nonempty(w, "quantize_weight_stepwise");
  internal::require(stored == DType::f32 || stored == DType::f16 || stored == DType::bf16,
                    "quantize_weight_stepwise: the stored dtype must be f32, f16 or bf16");
  for (double v : w.values)  // an infinity is a value of every dtype; the message only for a failure
    if (std::isnan(v) || round_to_dtype(v, stored) != v)
      internal::require(false, std::string("quantize_weight_stepwise: w holds a value that is not a ") + to_string(stored));
  const DType arithmetic = weight_arithmetic_dtype(variant, stored);
  const Vector absmax = internal::vector_from(internal::view_of(w).abs().amax(1));  // a selection: exact
  Quantized q;
  q.input = w;
  q.scale.resize(std::size_t(w.rows));
  q.scaled = Matrix(w.rows, w.cols);
  q.codes = Matrix(w.rows, w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    const double scale = stepwise_row_scale(absmax[std::size_t(r)], variant, arithmetic);
    q.scale[std::size_t(r)] = scale;
    if (scale == 0.0) continue;  // lmdeploy's zero row: codes 0 (smoothcheck's choice, as quantize_weight)
    for (int64_t c = 0; c < w.cols; ++c) {
      const double scaled = internal::quotient_via_f32(w.at(r, c), scale, arithmetic);
      q.scaled.at(r, c) = scaled;
      q.codes.at(r, c) = internal::weight_code(scaled, variant);
    }
  }
  return q;
}

}  // namespace smoothcheck::reference
