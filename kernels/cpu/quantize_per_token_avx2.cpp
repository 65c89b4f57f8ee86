// AVX2 form of numerics::quantize_value over one row, with the migration reciprocal fused
// (quantize_codes_avx2.h's loop: options as template parameters, 32 codes per store).
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/quantize_codes_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

// Each IO type's option dispatch inlines one loop per option combination; the loops with and without
// the prefetch are two such dispatches, not one twice as large (GCC 12 then stops inlining the loops,
// and the calls and reloaded vector constants cost ~65 instructions a row).
template <bool kAhead, class IO>
void quantize_row_as(const typename IO::storage* row, const float* recip, int64_t n, float scale, float inv_scale,
                     const ActQuantOptions& o, int8_t* q, NextRow next) {
  with_code_math(o, scale, inv_scale, [&](const auto& math) {
    if (recip) quantize_span<kAhead>(math, RowSource<IO, true>{row, recip}, n, q, next);
    else quantize_span<kAhead>(math, RowSource<IO, false>{row, nullptr}, n, q, next);
  });
}

}  // namespace

void quantize_row(const void* x, DType t, const float* recip, int64_t n, float scale, float inv_scale,
                  const ActQuantOptions& o, int8_t* q, const void* next, DType next_t) {
  // (not dtype_size: an inline function of the portable headers must not get an AVX2 copy here)
  const NextRow ahead(next, next_t == DType::f32 ? 4 : 2);
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    const auto* row = static_cast<const typename IO::storage*>(x);
    if (next) quantize_row_as<true, IO>(row, recip, n, scale, inv_scale, o, q, ahead);
    else quantize_row_as<false, IO>(row, recip, n, scale, inv_scale, o, q, ahead);
  });
}

}  // namespace smoothcheck::kernels::cpu::avx2
