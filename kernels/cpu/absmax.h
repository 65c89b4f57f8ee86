// max_j |x_j * recip_j| of one row (recip null: max_j |x_j|), on the backend's ISA. Shared by
// weight_stat, quantize_weight and quantize_per_token; the AVX2 form is absmax_avx2.cpp. A maximum of
// non-negative values does not depend on the order, so the two ISAs agree exactly.
#pragma once

#include <cstdint>

#include "kernels/options.h"

namespace smoothcheck::kernels::cpu {

float absmax_row(const void* x, DType t, const float* recip, int64_t n, bool avx2);

}  // namespace smoothcheck::kernels::cpu
