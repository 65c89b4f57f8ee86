#include "harness/pipeline/linear_error_scan.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::pipeline {

bool vectorized_row_error_scan_available() { return kernels::cpu_supports_avx2(); }

RowErrorScan scan_row_error(const float* w, const int8_t* q, const double* s, const double* inv_s, double a,
                            int64_t cols, RowScanPath path) {
  if (path == RowScanPath::vectorized_where_available && vectorized_row_error_scan_available())
    return scan_row_error_avx2(w, q, s, inv_s, a, cols);
  const double two_over_a = 2.0 / a;
  RowErrorScan out;
  for (int64_t j = 0; j < cols; ++j) {
    const double err = std::fabs(static_cast<double>(w[j]) - static_cast<double>(q[j]) * (a * inv_s[j]));
    const double ratio = err * s[j] * two_over_a;
    // std::max keeps the running maximum when the new value is NaN, as the AVX2 path's vmaxpd does; a
    // NaN or infinity is reported through `finite` instead.
    out.max_ratio = std::max(out.max_ratio, ratio);
    out.max_error = std::max(out.max_error, err);
    out.finite = out.finite && std::isfinite(ratio);
  }
  return out;
}

}  // namespace smoothcheck::pipeline
