#include "harness/pipeline/linear_error_scan.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::pipeline {

bool vectorized_row_error_scan_available() { return kernels::cpu_supports_avx2(); }

void accumulate_row_error_scalar(const float* w, const int8_t* q, const double* s, const double* inv_s, double a,
                                 int64_t begin, int64_t cols, RowErrorScan& into) {
  const double two_over_a = 2.0 / a;
  for (int64_t j = begin; j < cols; ++j) {
    const double err = std::fabs(static_cast<double>(w[j]) - static_cast<double>(q[j]) * (a * inv_s[j]));
    const double ratio = err * s[j] * two_over_a;
    // std::max keeps the running maximum when the new value is NaN, as the AVX2 path's vmaxpd does; a
    // NaN or infinity is reported through `finite` instead.
    into.max_ratio = std::max(into.max_ratio, ratio);
    into.max_error = std::max(into.max_error, err);
    into.finite = into.finite && std::isfinite(ratio);
  }
}

RowErrorScan scan_row_error(const float* w, const int8_t* q, const double* s, const double* inv_s, double a,
                            int64_t cols, RowScanPath path) {
  if (path == RowScanPath::vectorized_where_available && vectorized_row_error_scan_available())
    return scan_row_error_avx2(w, q, s, inv_s, a, cols);
  RowErrorScan out;
  accumulate_row_error_scalar(w, q, s, inv_s, a, 0, cols, out);
  return out;
}

}  // namespace smoothcheck::pipeline
