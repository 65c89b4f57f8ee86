#include "kernels/cpu/absmax.h"

#include <cmath>

#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io.h"

namespace smoothcheck::kernels::cpu {
namespace {

template <class IO>
float absmax_scalar(const typename IO::storage* x, const float* recip, int64_t n) {
  float m = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    float v = IO::load(x + j);
    if (recip) v = numerics::mul_rn(v, recip[j]);
    float a = std::fabs(v);
    m = a > m ? a : m;  // maxps order: a NaN never replaces the running maximum
  }
  return m;
}

}  // namespace

float absmax_row(const void* x, DType t, const float* recip, int64_t n, bool avx2) {
  if (avx2) return avx2::absmax_row(x, t, recip, n);
  return visit_float_dtype(t, [&](auto io) {
    using IO = decltype(io);
    return absmax_scalar<IO>(static_cast<const typename IO::storage*>(x), recip, n);
  });
}

}  // namespace smoothcheck::kernels::cpu
