// Non-x86-64 builds: the avx2:: entry points exist so the portable drivers link, but are never
// reached (cpu_supports_avx2() is false there and CpuBackend refuses CpuIsa::avx2).
#include <cstdlib>

#include "kernels/cpu/avx2_kernels.h"

namespace smoothcheck::kernels::cpu::avx2 {

void channel_stats_block(const void*, DType, int64_t, int64_t, int64_t, float*, float*, float*, double*, double*) { std::abort(); }
void column_absmax_block(const void*, DType, int64_t, int64_t, int64_t, float*) { std::abort(); }
void accumulate_normalized(const void*, DType, int64_t, int64_t, const float*, int64_t, DType, double*) { std::abort(); }
void scale_row(void*, DType, const float*, int64_t) { std::abort(); }
void divide_row(void*, DType, float, int64_t) { std::abort(); }
float absmax_row(const void*, DType, const float*, int64_t) { std::abort(); }
void quantize_row(const void*, DType, const float*, int64_t, float, float, const ActQuantOptions&, int8_t*, const void*,
                  DType) {
  std::abort();
}
void weight_code_row(const void*, DType, int64_t, float, WeightQuant, DType, int8_t*) { std::abort(); }
void rms_lanes(const void*, DType, int64_t, float*) { std::abort(); }
float rms_normalize_row(const void*, DType, const void*, DType, int64_t, float, float*, const void*) { std::abort(); }
float rms_absmax(const void*, DType, const void*, DType, int64_t, float) { std::abort(); }
void rms_quantize_row(const void*, DType, const void*, DType, int64_t, float, float, float, const ActQuantOptions&,
                      int8_t*) { std::abort(); }
void pack_b_panel(const int8_t*, int64_t, int64_t, int64_t, int16_t*) { std::abort(); }
void pack_a_panel(const int8_t*, int64_t, int64_t, int64_t, int16_t*) { std::abort(); }
void pack_b_panel_i8(const int8_t*, int64_t, int64_t, int64_t, int8_t*) { std::abort(); }
void gemm_block(const int16_t*, int64_t, int64_t, const int16_t*, int64_t, int64_t, int64_t, int32_t*, int64_t, bool) {
  std::abort();
}
void gemm_block_widening(const int16_t*, int64_t, int64_t, const int8_t*, int16_t*, int64_t, int32_t*, int64_t, bool) {
  std::abort();
}
void epilogue_row(const int32_t*, int64_t, float, const float*, const void*, DType, Epilogue, void*) { std::abort(); }

}  // namespace smoothcheck::kernels::cpu::avx2
