// numerics.md §2-3 as the public tools compute them on a bf16/f16 model (SmoothingArithmetic::
// model_dtype): the weight statistic and s with every torch operation done in float32 and rounded to
// the model's dtype, written independently of the kernels (kernels/numerics.h, "smoothing in the
// model's dtype") in float64 with explicit roundings. Upstream: lmdeploy 0.18.0
// lite/quantization/awq.py (get_weight_scale, smooth_ln_fcs, smooth_fc_fcs), the authors'
// smoothquant/smooth.py, llm-compressor modifiers/transform/smoothquant/base.py; torch casts a pow
// exponent and a python-float clamp bound to the tensor's dtype and computes at::mean of a reduced
// float as a float32 sum divided and rounded (aten ReduceOps.cpp mean_out).
#include <algorithm>
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"

namespace smoothcheck::reference {
namespace {

using internal::quotient_via_f32;
using internal::require;
using internal::round_via_f32;
// torch casts a pow exponent to the tensor's dtype before the float32 pow.
double pow_in(double x, double e, DType t) {
  const double exponent = round_via_f32(e, t);
  return round_via_f32(exponent == 0.5 ? std::sqrt(x) : std::pow(x, exponent), t);
}
double clamp_min_in(double v, double bound, DType t) {
  const double b = round_via_f32(bound, t);
  return v < b ? b : v;
}

void require_arithmetic(DType t, const char* what) {
  require(t == DType::f32 || t == DType::f16 || t == DType::bf16,
          std::string(what) + ": the arithmetic dtype must be f32, f16 or bf16");
}

}  // namespace

Vector weight_stat_stepwise(const std::vector<Matrix>& fcs, Recipe recipe, int64_t group_size, DType t) {
  require_arithmetic(t, "weight_stat_stepwise");
  require(!fcs.empty(), "weight_stat_stepwise: no fc reads this input");
  const int64_t cols = fcs.front().cols;
  for (const Matrix& fc : fcs) {
    internal::require_nonempty(fc, "weight_stat_stepwise");
    require(fc.cols == cols, "weight_stat_stepwise: fcs disagree on in_features");
  }
  require(group_size == 0 || recipe == Recipe::lmdeploy, "weight_stat_stepwise: groups are lmdeploy's alone");
  const int64_t group = group_size > 0 ? group_size : cols;
  require(cols % group == 0, "weight_stat_stepwise: in_features is not a multiple of group_size");
  Vector w(static_cast<std::size_t>(cols), 0.0);
  if (recipe != Recipe::lmdeploy) {
    for (const Matrix& fc : fcs)
      for (int64_t r = 0; r < fc.rows; ++r)
        for (int64_t j = 0; j < cols; ++j) w[std::size_t(j)] = std::max(w[std::size_t(j)], std::fabs(fc.at(r, j)));
    for (double& v : w) v = recipe == Recipe::smoothquant ? std::max(v, round_via_f32(1e-5, t)) : round_via_f32(2.0 * v, t);
    return w;
  }
  // lmdeploy: every row's (group's) absmax, clamped to 1e-4 (in t) only when the smallest is exactly 0;
  // each |W| / absmax rounded to t; their mean a float32 sum (exact here: a float64 sum of values with
  // few bits) divided by the row count and rounded.
  std::vector<double> amax;
  int64_t rows = 0;
  for (const Matrix& fc : fcs)
    for (int64_t r = 0; r < fc.rows; ++r, ++rows)
      for (int64_t g = 0; g < cols; g += group) {
        double m = 0.0;
        for (int64_t j = g; j < g + group; ++j) m = std::max(m, std::fabs(fc.at(r, j)));
        amax.push_back(m);
      }
  if (*std::min_element(amax.begin(), amax.end()) == 0.0)
    for (double& m : amax) m = std::max(m, round_via_f32(1e-4, t));
  std::size_t k = 0;
  for (const Matrix& fc : fcs)
    for (int64_t r = 0; r < fc.rows; ++r)
      for (int64_t g = 0; g < cols; g += group, ++k)
        for (int64_t j = g; j < g + group; ++j) w[std::size_t(j)] += quotient_via_f32(std::fabs(fc.at(r, j)), amax[k], t);
  for (double& v : w) v = round_via_f32(v / double(rows), t);
  return w;
}

Vector smooth_scale_stepwise(const Vector& a, const Vector& w, const Vector& norm_weight, Recipe recipe, double alpha,
                             DType t) {
  require_arithmetic(t, "smooth_scale_stepwise");
  require(!a.empty() && a.size() == w.size(), "smooth_scale_stepwise: a and w must be non-empty and of one length");
  require(norm_weight.empty() || norm_weight.size() == a.size(), "smooth_scale_stepwise: norm_weight has another length");
  const double beta = round_to_dtype(1.0 - alpha, DType::f32);  // 1 - α as the kernels' float
  const std::size_t n = a.size();
  Vector s(n);
  if (recipe == Recipe::smoothquant || recipe == Recipe::llmcompressor) {
    for (std::size_t j = 0; j < n; ++j) {
      const double ratio = quotient_via_f32(pow_in(a[j], alpha, t), pow_in(w[j], beta, t), t);
      const double floor_f32 = round_to_dtype(1e-5, DType::f32);  // llm-compressor's float32 floor
      const double v = w[j] == 0.0 ? a[j] : ratio;
      s[j] = recipe == Recipe::smoothquant ? clamp_min_in(ratio, 1e-5, t) : (v < floor_f32 ? floor_f32 : v);
    }
    return s;
  }
  require(recipe == Recipe::lmdeploy, "smooth_scale_stepwise: unknown recipe");
  Vector wp(n);
  for (std::size_t j = 0; j < n; ++j) wp[j] = pow_in(w[j], beta, t);
  const bool clamp_w = *std::min_element(wp.begin(), wp.end()) == 0.0;
  double hi = -INFINITY, lo = INFINITY;
  const auto kept = [&](std::size_t j) { return norm_weight.empty() || norm_weight[j] != 0.0; };
  for (std::size_t j = 0; j < n; ++j) {
    s[j] = clamp_min_in(quotient_via_f32(pow_in(a[j], alpha, t), clamp_w ? clamp_min_in(wp[j], 1e-4, t) : wp[j], t), 1e-4, t);
    if (kept(j)) {
      hi = std::max(hi, s[j]);
      lo = std::min(lo, s[j]);
    }
  }
  // smooth_ln_fcs (a norm source): the product and its root in t; smooth_fc_fcs in float32. An fp16
  // product that overflows keeps the float32 one (kernels/numerics.h lmdeploy_denominator_in).
  const double product = round_to_dtype(hi * lo, DType::f32);
  const double product_t = round_to_dtype(product, t);
  const double denom = !norm_weight.empty() && std::isfinite(product_t) ? round_via_f32(std::sqrt(product_t), t)
                                                                         : round_to_dtype(std::sqrt(product), DType::f32);
  for (std::size_t j = 0; j < n; ++j) s[j] = kept(j) ? quotient_via_f32(s[j], denom, t) : 1.0;
  return s;
}

}  // namespace smoothcheck::reference
