// numerics.md §6, lmdeploy's fused rms_norm_dynamic_quant: y = w * x / sqrt(mean(x^2) + eps), stored in
// the activation dtype, then quantised per token. The reference computes y in float64 (lmdeploy's
// float32 variance and rsqrt are the kernel's approximations of it) and rounds it once to act_dtype,
// as lmdeploy's cast to the input dtype does; the quantisation then follows the options, exactly as
// quantize_per_token.
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {

using internal::require;

Quantized rmsnorm_quantize(const Matrix& x, const Vector& norm_weight, double eps, DType act_dtype,
                           const ActQuantOptions& o) {
  internal::require_nonempty(x, "rmsnorm_quantize");
  require(static_cast<int64_t>(norm_weight.size()) == x.cols,
          "rmsnorm_quantize: norm_weight has " + std::to_string(norm_weight.size()) + " channels, x has " +
              std::to_string(x.cols) + " columns");
  require(std::isfinite(eps) && eps >= 0.0, "rmsnorm_quantize: eps must be finite and >= 0");
  require(act_dtype == DType::f32 || act_dtype == DType::f16 || act_dtype == DType::bf16 || act_dtype == DType::f64,
          std::string("rmsnorm_quantize: act_dtype ") + to_string(act_dtype) + " is not a floating-point type");

  const at::Tensor t = internal::view_of(x);
  const at::Tensor mean_square = t.square().mean(1, /*keepdim=*/true);
  const at::Tensor rms = (mean_square + eps).sqrt();
  // With eps = 0 an all-zero row would be 0 / 0; its normalised value is taken as 0 (the row then
  // quantises per o.zero_row) rather than NaN.
  const at::Tensor normalised = at::where(rms.gt(0.0), t / rms, at::zeros_like(t));
  Matrix y = internal::matrix_from(internal::view_of(norm_weight) * normalised);
  for (double& v : y.values) v = round_to_dtype(v, act_dtype);
  return quantize_per_token(y, {}, o);  // its input is the rounded y
}

}  // namespace smoothcheck::reference
