// verify's screening pass over one row of a quantised linear (LinearErrorCheck, export_checks.h): the
// largest error over numerics.md §8's bound in the row, in a division-free form, on every row of the
// model. LinearErrorCheck::finish then rescans the worst row with the formula as written, which alone decides the
// reported ratio and its position; this pass only has to find that row. Two paths, the same numbers:
// the AVX2 one does each lane's arithmetic in the scalar one's order (no fused multiply-add), so both
// give the same maxima bit for bit (cases/pipeline/linear_error_scan_cases.cpp).
#pragma once

#include <cstdint>

namespace smoothcheck::pipeline {

struct RowErrorScan {
  double max_ratio = 0;   // max over j of |w_j − q_j·a/s_j| · s_j · 2/a: the error over the bound a/(2·s_j)
  double max_error = 0;   // max over j of |w_j − q_j·a/s_j|
  bool finite = true;     // false when some ratio is NaN or infinite (a NaN or infinite scale or s, a zero s)
};

enum class RowScanPath { scalar, vectorized_where_available };

// w: the original row (float32), q: its codes, s and inv_s: the migration scale in float64 and its
// reciprocal 1/s, a: the row's step numerator scale·rowdiv (finite and positive: the caller sends other
// rows to the formula as written).
RowErrorScan scan_row_error(const float* w, const int8_t* q, const double* s, const double* inv_s, double a,
                            int64_t cols, RowScanPath path = RowScanPath::vectorized_where_available);

// True when this CPU has AVX2 (the vectorised path); scan_row_error falls back to the scalar one otherwise.
bool vectorized_row_error_scan_available();

// The scalar arithmetic on columns [begin, cols), folded into `into`: the scalar path, and the AVX2
// path's tail.
void accumulate_row_error_scalar(const float* w, const int8_t* q, const double* s, const double* inv_s, double a,
                                 int64_t begin, int64_t cols, RowErrorScan& into);

// The AVX2 path (linear_error_scan_avx2.cpp); call only when vectorized_row_error_scan_available().
RowErrorScan scan_row_error_avx2(const float* w, const int8_t* q, const double* s, const double* inv_s, double a,
                                 int64_t cols);

}  // namespace smoothcheck::pipeline
