// Builds for CPUs other than x86-64: no vectorised re-derivation (every row goes to the reference), no
// vectorised error scan (scan_row_error takes the scalar path: cpu_supports_avx2() is false), and
// no vectorised dtype rounding or float conversion (dtype_rounding.cpp and float_conversion.cpp never
// call them: cpu_supports_avx2() is false).
#include <stdexcept>

#include "harness/pipeline/dtype_rounding.h"
#include "harness/pipeline/linear_error_scan.h"
#include "harness/pipeline/rederived_weights_avx2.h"
#include "harness/pipeline/float_conversion.h"

namespace smoothcheck::pipeline {

bool vectorized_rederivation_available(WeightQuant, DType) { return false; }

bool row_matches_lmdeploy_recipe(const float*, const float*, bool, float, DType, const int8_t*, float, int64_t,
                                 float*) {
  throw std::logic_error("row_matches_lmdeploy_recipe: not built for this CPU");
}

RowErrorScan scan_row_error_avx2(const float*, const int8_t*, const double*, const double*, double, int64_t) {
  throw std::logic_error("scan_row_error_avx2: not built for this CPU");
}

void round_each_to_avx2(float*, std::size_t, DType) {
  throw std::logic_error("round_each_to_avx2: not built for this CPU");
}

void widen_to_f32_avx2(const void*, DType, std::size_t, float*) {
  throw std::logic_error("widen_to_f32_avx2: not built for this CPU");
}

void narrow_from_f32_avx2(const float*, std::size_t, DType, void*) {
  throw std::logic_error("narrow_from_f32_avx2: not built for this CPU");
}

}  // namespace smoothcheck::pipeline
