// Compiled with -mavx2 -mfma -mf16c on x86-64 (CMakeLists.txt); dtype_rounding.cpp calls it only when
// the CPU has them. The conversions are the CPU kernels' (dtype_io_avx2.h), each the vector form of
// numerics::round_to, checked bit for bit by the kernels' tests.
#include <immintrin.h>

#include "harness/pipeline/dtype_rounding.h"
#include "kernels/cpu/dtype_io_avx2.h"
#include "kernels/numerics.h"

namespace smoothcheck::pipeline {

namespace {

template <class IO>
void round_each(float* values, std::size_t n, DType t) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(values + i, IO::round_trip(_mm256_loadu_ps(values + i)));
  for (; i < n; ++i) values[i] = numerics::round_to(values[i], t);
}

}  // namespace

void round_each_to_avx2(float* values, std::size_t n, DType t) {
  kernels::cpu::avx2::visit_float(t, [&](auto io) { round_each<decltype(io)>(values, n, t); });
}

}  // namespace smoothcheck::pipeline
