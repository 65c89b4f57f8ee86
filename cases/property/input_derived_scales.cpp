#include "cases/property/input_derived_scales.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include <rapidcheck.h>

#include "cases/property/property_support.h"

namespace smoothcheck::property {

Vector per_token_scales_from_input(const Matrix& x, const Vector& migration_scale, const ActQuantOptions& options) {
  Vector scales(std::size_t(x.rows), 0.0);
  for (int64_t t = 0; t < x.rows; ++t) {
    double row_max = 0.0;
    for (int64_t c = 0; c < x.cols; ++c) {
      const double target = migration_scale.empty() ? x.at(t, c) : x.at(t, c) / migration_scale[std::size_t(c)];
      row_max = std::max(row_max, std::fabs(target));
    }
    if (options.zero_row == ZeroRow::floor) row_max = std::max(row_max, double(options.absmax_floor));
    scales[std::size_t(t)] = row_max / 127.0;
  }
  return scales;
}

Vector weight_scales_from_input(const Matrix& w, WeightQuant variant, DType dtype) {
  // The authors' fake quant and compressed-tensors evaluate the formula in a bf16/f16 weight's own dtype.
  if (reference::weight_arithmetic_dtype(variant, dtype) != DType::f32)
    return reference::quantize_weight_stepwise(w, variant, dtype).scale;
  Vector scales(std::size_t(w.rows), 0.0);
  for (int64_t r = 0; r < w.rows; ++r) {
    double absmax = 0.0;
    for (int64_t c = 0; c < w.cols; ++c) absmax = std::max(absmax, std::fabs(w.at(r, c)));
    double& scale = scales[std::size_t(r)];
    switch (variant) {
      case WeightQuant::lmdeploy: scale = absmax / 127.0; break;
      case WeightQuant::smoothquant: scale = std::max(absmax, 1e-5) / 127.0; break;
      case WeightQuant::compressed_tensors: scale = std::max(absmax / 127.5, double(FLT_EPSILON)); break;
    }
  }
  return scales;
}

double scale_tolerance(double derived) {
  return kScaleRoundings * unit_roundoff(DType::f32) * derived + 2 * underflow_error(DType::f32);
}

void assert_scales_agree(const Vector& kernel, const Vector& derived, const char* what) {
  RC_ASSERT(kernel.size() == derived.size());
  for (std::size_t r = 0; r < kernel.size(); ++r) {
    const bool agrees = std::isfinite(kernel[r]) && std::fabs(kernel[r] - derived[r]) <= scale_tolerance(derived[r]);
    if (!agrees)
      RC_LOG() << what << " scale of row " << r << ": kernel " << kernel[r] << ", derived from the input "
               << derived[r] << " (ratio " << kernel[r] / derived[r] << ")\n";
    RC_ASSERT(agrees);
  }
}

}  // namespace smoothcheck::property
