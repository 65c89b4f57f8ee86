#include "harness/pipeline/dtype_rounding.h"

#include "kernels/cpu/cpu_backend.h"
#include "kernels/numerics.h"

namespace smoothcheck::pipeline {

void round_each_to(float* values, std::size_t n, DType t) {
  if (t == DType::f32) return;
  static const bool avx2 = kernels::cpu_supports_avx2();
  if (avx2) return round_each_to_avx2(values, n, t);
  for (std::size_t i = 0; i < n; ++i) values[i] = numerics::round_to(values[i], t);
}

}  // namespace smoothcheck::pipeline
