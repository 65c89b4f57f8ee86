// numerics.md §3, the smoothing scale s_j for the three recipes, formed in float64 (pow, quotient,
// clamps, lmdeploy's sqrt(max * min) normalisation) and rounded to float once: the reference's value,
// correctly rounded up to pow's error. CUDA's pow is not the CPU's, so s is compared with a float
// tolerance, never bit for bit. C is at most a few ten thousand: one block does all of it.
// In a bf16/f16 arithmetic dtype every step is the float32 operation rounded to it, as the public tools
// compute on a model of that dtype: kernels/numerics.h's smoothing-in-the-model's-dtype steps, the
// same code as the CPU kernel's (powf aside).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;
constexpr int kBlock = 256;

// clamp_w: lmdeploy's all-or-nothing clamp of w^(1-alpha) to 1e-4 (see smooth_scale_kernel).
__device__ __forceinline__ double raw_scale(float a, float w, Recipe recipe, double alpha, bool clamp_w = false) {
  const double pa = pow(double(a), alpha);
  const double pw = pow(double(w), 1.0 - alpha);
  switch (recipe) {
    case Recipe::smoothquant: return fmax(pa / pw, 1e-5);  // smooth_ln_fcs
    case Recipe::lmdeploy: return fmax(pa / (clamp_w ? fmax(pw, 1e-4) : pw), 1e-4);
    case Recipe::llmcompressor: return fmax(w > 0.0f ? pa / pw : double(a), 1e-5);  // s = a where w = 0
  }
  return 0.0;
}

// lmdeploy in the arithmetic dtype t (kernels/cpu/smooth_scale.cpp lmdeploy_scale_in, one block): the
// clamp decision and max/min are exact selections, so the order of the reductions does not matter.
__device__ void lmdeploy_scale_in(const float* a, const float* w, const float* norm_weight, int64_t channels,
                                  float alpha, DType t, float* s) {
  using Reduce = cub::BlockReduce<float, kBlock>;
  SC_SHARED(typename Reduce::TempStorage, temp);
  SC_SHARED(bool, shared_clamp_w);
  SC_SHARED(float, shared_hi);
  SC_SHARED(float, shared_lo);
  const float beta = nx::add_rn(1.0f, -alpha);
  float w_min = INFINITY;
  for (int64_t j = threadIdx.x; j < channels; j += blockDim.x) {
    const float wp = s[j] = nx::pow_in(w[j], beta, t);
    w_min = wp >= 0.0f ? fminf(w_min, wp) : -1.0f;  // a NaN or negative w' stands as -1: no clamp
  }
  const float block_w_min = Reduce(temp).Reduce(w_min, cuda::minimum<>{});
  if (threadIdx.x == 0) shared_clamp_w = block_w_min == 0.0f;
  __syncthreads();
  const bool clamp_w = shared_clamp_w;
  float hi = -INFINITY, lo = INFINITY;
  for (int64_t j = threadIdx.x; j < channels; j += blockDim.x) {
    s[j] = nx::lmdeploy_raw_scale_in(a[j], s[j], clamp_w, alpha, t);
    if (norm_weight && norm_weight[j] == 0.0f) continue;
    hi = fmaxf(hi, s[j]);
    lo = fminf(lo, s[j]);
  }
  __syncthreads();
  const float block_hi = Reduce(temp).Reduce(hi, cuda::maximum<>{});
  __syncthreads();
  const float block_lo = Reduce(temp).Reduce(lo, cuda::minimum<>{});
  if (threadIdx.x == 0) {
    shared_hi = block_hi;
    shared_lo = block_lo;
  }
  __syncthreads();
  const float denom = nx::lmdeploy_denominator_in(shared_hi, shared_lo, norm_weight != nullptr, t);
  for (int64_t j = threadIdx.x; j < channels; j += blockDim.x)
    s[j] = (norm_weight && norm_weight[j] == 0.0f) ? 1.0f : nx::round_to(nx::div_rn(s[j], denom), t);
}

__global__ void __launch_bounds__(kBlock)
    smooth_scale_kernel(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                        double alpha, DType arithmetic, float* s) {
  if (arithmetic != DType::f32) {
    if (recipe == Recipe::lmdeploy) return lmdeploy_scale_in(a, w, norm_weight, channels, float(alpha), arithmetic, s);
    for (int64_t j = threadIdx.x; j < channels; j += blockDim.x)
      s[j] = nx::smooth_scale_in(a[j], w[j], float(alpha), recipe, arithmetic);
    return;
  }
  if (recipe != Recipe::lmdeploy) {
    for (int64_t j = threadIdx.x; j < channels; j += blockDim.x) s[j] = float(raw_scale(a[j], w[j], recipe, alpha));
    return;
  }
  // lmdeploy 0.18.0 lite/quantization/awq.py smooth_ln_fcs (lines 187-196) / smooth_fc_fcs (lines
  // 241-249): w' = w^(1-alpha) is clamped to 1e-4 everywhere only when min(w') over all channels is
  // exactly 0 (all or nothing). torch's min() propagates NaN and NaN == 0 is false, so a NaN (or a
  // negative) w' stands in the reduction as -1: then no clamp.
  using Reduce = cub::BlockReduce<double, kBlock>;
  SC_SHARED(typename Reduce::TempStorage, temp);
  SC_SHARED(bool, shared_clamp_w);
  double w_min = INFINITY;
  for (int64_t j = threadIdx.x; j < channels; j += blockDim.x) {
    const double pw = pow(double(w[j]), 1.0 - alpha);
    w_min = pw >= 0.0 ? fmin(w_min, pw) : -1.0;
  }
  const double block_w_min = Reduce(temp).Reduce(w_min, cuda::minimum<>{});
  if (threadIdx.x == 0) shared_clamp_w = block_w_min == 0.0;
  __syncthreads();
  const bool clamp_w = shared_clamp_w;
  // Then s / sqrt(max(s[nz]) * min(s[nz])) over nz = channels whose norm weight is non-zero (all
  // channels without a norm); s = 1 elsewhere, and everywhere when no channel is kept.
  double hi = -INFINITY, lo = INFINITY;
  for (int64_t j = threadIdx.x; j < channels; j += blockDim.x) {
    if (norm_weight && norm_weight[j] == 0.0f) continue;
    const double v = raw_scale(a[j], w[j], recipe, alpha, clamp_w);
    hi = fmax(hi, v);
    lo = fmin(lo, v);
  }
  SC_SHARED(double, shared_hi);
  SC_SHARED(double, shared_lo);
  const double block_hi = Reduce(temp).Reduce(hi, cuda::maximum<>{});
  __syncthreads();
  const double block_lo = Reduce(temp).Reduce(lo, cuda::minimum<>{});
  if (threadIdx.x == 0) {
    shared_hi = block_hi;
    shared_lo = block_lo;
  }
  __syncthreads();
  const bool any_kept = shared_hi >= shared_lo;
  const double denom = sqrt(shared_hi * shared_lo);
  for (int64_t j = threadIdx.x; j < channels; j += blockDim.x) {
    const bool kept = any_kept && !(norm_weight && norm_weight[j] == 0.0f);
    s[j] = kept ? float(raw_scale(a[j], w[j], recipe, alpha, clamp_w) / denom) : 1.0f;
  }
}

}  // namespace

void smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                  float alpha, float* s, DType arithmetic, cudaStream_t stream) {
  if (channels <= 0) return;
  SC_LAUNCH(1, kBlock, stream, smooth_scale_kernel)(a, w, norm_weight, channels, recipe, double(alpha), arithmetic, s);
  SC_CUDA_CHECK_LAUNCH("smooth_scale_kernel");
}

}  // namespace smoothcheck::kernels::cuda_launch
