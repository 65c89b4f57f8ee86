// numerics.md §5: symmetric int8 quantisation of W [O, C], one scale per output row r.
#include <cfloat>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {
namespace {

// The row's scale, and the exact value a row element w is divided by it to. Each variant defines its
// scale as absmax / divisor (or a floor); w / scale is then computed as w * divisor / absmax (or
// w / floor): the same number, with a single rounding in float64 for f32/f16/bf16 weights (w *
// divisor is exact), where w / fl(absmax / divisor) would round twice and could move an exact tie.
struct RowScale {
  double scale = 0.0;
  double numerator = 0.0;    // scaled = w * numerator / denominator
  double denominator = 0.0;  // 0: the row quantises to codes 0 (lmdeploy's zero row)
};

RowScale row_scale(double absmax, WeightQuant variant) {
  switch (variant) {
    // lmdeploy QLinear.from_float: absmax / 127 with no epsilon. A zero row has scale 0, and its codes
    // are smoothcheck's choice, 0: lmdeploy itself divides 0 by 0 there.
    case WeightQuant::lmdeploy:
      return absmax == 0.0 ? RowScale{0.0, 0.0, 0.0} : RowScale{absmax / 127.0, 127.0, absmax};
    // SmoothQuant authors' quantize_weight_per_channel_absmax: absmax clamped to 1e-5, / 127.
    case WeightQuant::smoothquant: {
      const double clamped = std::max(absmax, 1e-5);
      return {clamped / 127.0, 127.0, clamped};
    }
    // compressed-tensors 0.19.0 calculate_qparams (quantization/utils/helpers.py): absmax /
    // ((127 - (-128)) / 2) = absmax / 127.5, replaced by torch.finfo(float32).eps only where the stored
    // f32 scale is exactly 0 (torch.where): a zero row, or one so small that the quotient underflows.
    case WeightQuant::compressed_tensors: {
      const double eps = FLT_EPSILON;
      if (internal::round_quotient_to_dtype(absmax, 127.5, DType::f32) == 0.0) return {eps, 1.0, eps};
      return {absmax / 127.5, 255.0, 2.0 * absmax};
    }
  }
  internal::require(false, "quantize_weight: unknown WeightQuant");
  return {};
}

}  // namespace

double internal::weight_code(double scaled, WeightQuant variant) {
  switch (variant) {
    // torch.round (ties to even), then clamp to [-128, 127]; |scaled| <= 127 so the clamp is idle.
    case WeightQuant::lmdeploy:
      return internal::store_int8(internal::round_to_integer(scaled, Rounding::half_even), Clamp::saturate);
    // torch.round without a clamp (fake quant keeps the float): |scaled| <= 127 exactly, but a bfloat16
    // quotient (quantize_weight_stepwise) can round to 127.5 and then to 128, which the int8 store
    // saturates to 127 (kernels/numerics.h weight_code).
    case WeightQuant::smoothquant:
      return internal::store_int8(internal::round_to_integer(scaled, Rounding::half_even), Clamp::saturate);
    // Clamp to [-128, 127] before torch.round: |scaled| reaches 127.5 at the row's absmax, so the
    // clamp matters; -127.5 rounds (to even) to -128, +127.5 clamps to 127.
    case WeightQuant::compressed_tensors:
      return internal::round_to_integer(std::min(std::max(scaled, -128.0), 127.0), Rounding::half_even);
  }
  return 0.0;
}

Quantized quantize_weight(const Matrix& w, WeightQuant variant) {
  internal::require_nonempty(w, "quantize_weight");
  const Vector absmax = internal::vector_from(internal::view_of(w).abs().amax(1));
  Quantized q;
  q.input = w;
  q.scale.resize(std::size_t(w.rows));
  q.scaled = Matrix(w.rows, w.cols);
  q.codes = Matrix(w.rows, w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    const RowScale rs = row_scale(absmax[std::size_t(r)], variant);
    q.scale[std::size_t(r)] = rs.scale;
    for (int64_t c = 0; c < w.cols; ++c) {
      const double scaled = rs.denominator == 0.0 ? 0.0 : w.at(r, c) * rs.numerator / rs.denominator;
      q.scaled.at(r, c) = scaled;
      q.codes.at(r, c) = internal::weight_code(scaled, variant);
    }
  }
  return q;
}

}  // namespace smoothcheck::reference
