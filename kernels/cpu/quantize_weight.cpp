// numerics.md §5: per-output-channel symmetric int8 weights. Per row: absmax, the variant's scale
// (numerics::weight_row_scale) and codes (numerics::weight_code), in the variant's arithmetic dtype
// (numerics::weight_arithmetic). Threads own rows.
#include <cstring>

#include "kernels/argument_contract.h"
#include "kernels/cpu/absmax.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::kernels {
namespace {

template <class IO>
void weight_code_row(const typename IO::storage* w, int64_t n, float scale, WeightQuant variant, DType arithmetic,
                     int8_t* q) {
  for (int64_t j = 0; j < n; ++j) q[j] = numerics::weight_code(IO::load(w + j), scale, variant, arithmetic);
}

}  // namespace

void CpuBackend::quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) {
  validate_quantize_weight(cpu::kBackend, w, variant, q, scale);
  if (w.rows == 0 || w.cols == 0) return;
  const bool avx2 = use_avx2();
  const DType arithmetic = numerics::weight_arithmetic(variant, w.dtype);
  cpu::parallel_for(w.rows, cpu::grain_for_bytes(w.cols * 4), threads(), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = cpu::row_ptr(w, r);
      auto* codes = static_cast<int8_t*>(cpu::row_ptr(q, r));
      const float s = numerics::weight_row_scale(cpu::absmax_row(row, w.dtype, nullptr, w.cols, avx2), variant, arithmetic);
      scale[r] = s;
      if (s == 0.0f) {
        std::memset(codes, 0, std::size_t(w.cols));  // numerics::weight_code: an all-zero lmdeploy row
      } else if (avx2) {
        cpu::avx2::weight_code_row(row, w.dtype, w.cols, s, variant, arithmetic, codes);
      } else {
        cpu::visit_float_dtype(w.dtype, [&](auto io) {
          using IO = decltype(io);
          weight_code_row<IO>(static_cast<const typename IO::storage*>(row), w.cols, s, variant, arithmetic, codes);
        });
      }
    }
  });
}

}  // namespace smoothcheck::kernels
