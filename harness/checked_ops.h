// The validating front door to a backend. Production kernels check layouts (dtype, stride, null
// pointers) but not values: a NaN activation, a zero smoothing scale or a weight whose K does not match
// would flow through and come out as NaN or garbage. Every function here first checks what the kernel
// does not (finite values, s > 0, non-empty and consistent shapes) and throws std::invalid_argument
// naming the operation, the tensor and the problem; then it calls the backend; then it checks that no
// float output is NaN or infinite (std::range_error: e.g. an f16 output that overflowed), so that no
// invalid value is ever passed on silently. The pipeline calls these, never the backend directly.
//
// Scale vectors carry their length (FloatSpan) so that a length mismatch is caught here rather than
// read past by the kernel. Defined behaviour is kept: an all-zero activation row quantises to codes 0
// with scale 0 (ZeroRow::zero_scale) or floor/127 (ZeroRow::floor), numerics.md §6.
#pragma once

#include <cstdint>

#include "kernels/kernel_api.h"

namespace smoothcheck::checked {

struct FloatSpan {
  const float* data = nullptr;
  int64_t size = 0;
};
struct MutFloatSpan {
  float* data = nullptr;
  int64_t size = 0;
};

// §1, one batch's statistics of x [T, C]; every output span has C elements.
void channel_stats(kernels::Backend& b, kernels::ConstMatrix x, kernels::ChannelStatsOut out, int64_t out_size);

// §3: a (>= 0, finite) and w (> 0 finite) of one length; norm_weight empty or of that length; alpha in [0, 1].
void smooth_scale(kernels::Backend& b, FloatSpan a, FloatSpan w, FloatSpan norm_weight, Recipe recipe, float alpha,
                  MutFloatSpan s, DType arithmetic = DType::f32);

// §4: W[:, j] *= s_j; s has W's cols elements, each finite and > 0.
void scale_columns(kernels::Backend& b, kernels::MutMatrix w, FloatSpan s);
// §4: W[j, :] /= s_j; s has W's rows elements, each finite and > 0.
void divide_rows(kernels::Backend& b, kernels::MutMatrix w, FloatSpan s);

// §5: q [O, C] int8, scale [O].
void quantize_weight(kernels::Backend& b, kernels::ConstMatrix w, WeightQuant variant, kernels::MutMatrix q,
                     MutFloatSpan scale);

// §6: q [T, C] int8, scale [T]; migration_scale empty or [C], finite and > 0.
void quantize_per_token(kernels::Backend& b, kernels::ConstMatrix x, FloatSpan migration_scale,
                        const ActQuantOptions& o, kernels::MutMatrix q, MutFloatSpan scale);

// §7: a [M, K] and b [N, K] int8 with the same K; acc [M, N] int32.
void gemm_s8s8s32(kernels::Backend& backend, kernels::ConstMatrix a, kernels::ConstMatrix b, kernels::MutMatrix acc);

// §7: scales finite and >= 0 (0 is a zero row's scale), of lengths M and N; bias absent or [N] finite.
void gemm_w8a8(kernels::Backend& backend, kernels::ConstMatrix a, kernels::ConstMatrix b, FloatSpan scale_a,
               FloatSpan scale_b, kernels::ConstVector bias, Epilogue epilogue, kernels::MutMatrix out);

}  // namespace smoothcheck::checked
