#include "harness/pipeline/rederived_weights.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "harness/differential/compare.h"
#include "reference/reference.h"

namespace smoothcheck::pipeline {

namespace {

constexpr double kU32 = 0x1.0p-24;
constexpr int64_t kRowsPerBlock = 64;

}  // namespace

// The tolerances, from what the f32 pipeline does between the exact w·s/d and the stored numbers:
// k = 1 rounding per smoothed element (w·s in f32), k = 2 with a fused row divisor (then ÷ d). The
// row absmax of those rounded values is within k·u of the exact one and the scale's own division by
// 127 (127.5) adds 1u: (k + 1)·u. The code's unrounded value w_s/scale (or w_s·(127/absmax)) then
// carries k·u from w_s, (k + 1)·u from the scale and ≤ 2u from the quotient or the reciprocal and
// its product: (2k + 3)·u·|v|, the width around a midpoint where either neighbour is a correct code.
RederivedWeights rederive_weights(const FloatMatrix& original, const at::Tensor& codes, const at::Tensor& scale,
                                  const std::vector<float>& s, const std::vector<float>* rowdiv, WeightQuant variant,
                                  DType arithmetic, double s_error_u) {
  const int64_t rows = original.rows, cols = original.cols;
  if (codes.numel() != rows * cols || scale.numel() != rows || static_cast<int64_t>(s.size()) != cols ||
      (rowdiv && static_cast<int64_t>(rowdiv->size()) != rows))
    throw std::logic_error("rederive_weights: operand sizes disagree with the original's [" + std::to_string(rows) +
                           ", " + std::to_string(cols) + "]");
  const at::Tensor q = codes.contiguous();
  const at::Tensor sc = scale.contiguous();
  const int8_t* qp = q.data_ptr<int8_t>();
  const float* sp = sc.data_ptr<float>();
  const bool stepwise = arithmetic != DType::f32;
  const double k = (rowdiv ? 2.0 : 1.0) + s_error_u;
  RederivedWeights out;
  out.scale_tolerance_u = stepwise ? 0.0 : k + 1;
  const double code_eps = stepwise ? 0.0 : (2 * k + 3) * kU32;
  const CodeRule rule = weight_code_rule(variant);

  for (int64_t r0 = 0; r0 < rows; r0 += kRowsPerBlock) {
    const int64_t n = std::min(kRowsPerBlock, rows - r0);
    reference::Matrix smoothed(n, cols);
    for (int64_t i = 0; i < n; ++i) {
      const double d = rowdiv ? static_cast<double>((*rowdiv)[r0 + i]) : 1.0;
      const float* w = original.data.data() + (r0 + i) * cols;
      for (int64_t j = 0; j < cols; ++j) {
        if (!stepwise) {
          smoothed.at(i, j) = static_cast<double>(w[j]) * s[j] / d;
          continue;
        }
        // The columns are multiplied first (norm -> fcs precedes the fc -> fc pair in every plan), then
        // the rows divided: each result stored in the model's dtype.
        double v = reference::round_to_dtype(static_cast<double>(w[j]) * s[j], arithmetic);
        if (rowdiv) v = reference::round_to_dtype(reference::round_to_dtype(v / d, DType::f32), arithmetic);
        smoothed.at(i, j) = v;
      }
    }
    const reference::Quantized ref = stepwise ? reference::quantize_weight_stepwise(smoothed, variant, arithmetic)
                                              : reference::quantize_weight(smoothed, variant);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = r0 + i;
      const double want = ref.scale[i];
      const double got = sp[r];
      double err_u = std::fabs(got - want) / (kU32 * std::fabs(want));
      if (want == 0) err_u = got == 0 ? 0.0 : INFINITY;
      if (!std::isfinite(got) || err_u != err_u) err_u = INFINITY;
      if (r == 0 || err_u > out.max_scale_error_u) {
        out.max_scale_error_u = err_u;
        out.worst_scale_row = r;
        out.worst_scale_stored = got;
        out.worst_scale_recipe = want;
      }
      for (int64_t j = 0; j < cols; ++j) {
        ++out.codes;
        const int stored = qp[r * cols + j];
        const int recipe = static_cast<int>(ref.codes.at(i, j));
        if (stored == recipe) continue;
        // Either neighbour of a midpoint the arithmetic's error reaches is correct (compare_codes' rule).
        const double v = ref.scaled.at(i, j), eps = code_eps * std::fabs(v);
        if (stored == code_of(v - eps, rule) || stored == code_of(v + eps, rule)) {
          ++out.midpoint_codes;
          continue;
        }
        if (out.wrong_codes++ == 0) {
          out.first_wrong_row = r;
          out.first_wrong_col = j;
          out.first_wrong_stored = stored;
          out.first_wrong_recipe = recipe;
          out.first_wrong_value = v;
        }
      }
    }
  }
  return out;
}

}  // namespace smoothcheck::pipeline
