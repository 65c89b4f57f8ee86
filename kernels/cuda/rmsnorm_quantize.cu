// numerics.md §6, lmdeploy's rms_norm_dynamic_quant: RMSNorm in f32, y = w * (x * inv) rounded to the
// activation dtype, then per-token quantisation of y. One warp per row, so that the sum of squares is
// numerics.h's canonical order: lane l accumulates elements l, l + 32, ... with fmaf, then the halving
// tree 16, 8, 4, 2, 1 (__shfl_down_sync), which is reduce_rms_lanes on the CPU. Loads are scalar and
// coalesced (lane l reads element l + 32 k); vector loads would give one lane consecutive elements
// and break that order.
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;
constexpr unsigned kFullMask = 0xffffffffu;

template <class E>
__global__ void __launch_bounds__(cuda_plan::kRmsWarpsPerBlock * cuda_plan::kWarp)
    rmsnorm_quantize_kernel(const void* x, int64_t rows, int64_t cols, int64_t x_stride, const float* norm_w,
                            float eps, ActQuantOptions o, int8_t* q, int64_t q_stride, float* scale) {
  const int warp = int(threadIdx.x) / cuda_plan::kWarp;
  const int lane = int(threadIdx.x) % cuda_plan::kWarp;
  const int64_t step = int64_t(gridDim.x) * cuda_plan::kRmsWarpsPerBlock;
  for (int64_t r = cuda_plan::rms_row_of(blockIdx.x, warp); r < rows; r += step) {  // warp-uniform
    const auto* row = row_ptr<E>(x, x_stride, r);
    float acc = 0.0f;
    for (int64_t j = lane; j < cols; j += cuda_plan::kWarp) {
      const float v = E::load(row[j]);
      acc = fmaf(v, v, acc);
    }
    for (int width = nx::kRmsLanes / 2; width >= 1; width /= 2)
      acc = nx::add_rn(acc, __shfl_down_sync(kFullMask, acc, width));
    const float inv = nx::rms_inverse(__shfl_sync(kFullMask, acc, 0), cols, eps);

    float local = 0.0f;
    for (int64_t j = lane; j < cols; j += cuda_plan::kWarp) {
      const float y = round_to<E>(nx::rms_normalized(E::load(row[j]), norm_w[j], inv));
      local = fmaxf(local, fabsf(y));
    }
    for (int width = 16; width >= 1; width /= 2)  // a maximum: any order gives the same value
      local = fmaxf(local, __shfl_xor_sync(kFullMask, local, width));
    const nx::RowScale rs = nx::row_scale_from_absmax(local, o);

    int8_t* q_row = q + r * q_stride;
    for (int64_t j = lane; j < cols; j += cuda_plan::kWarp) {
      const float y = round_to<E>(nx::rms_normalized(E::load(row[j]), norm_w[j], inv));
      q_row[j] = nx::quantize_value(y, rs, o);
    }
    if (lane == 0) scale[r] = rs.scale;
  }
}

}  // namespace

void rmsnorm_quantize(ConstMatrix x, const float* norm_w, float eps, const ActQuantOptions& o, MutMatrix q,
                      float* scale, cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_rms_rows(x.rows);
  if (l.grid == 0) return;
  SC_DISPATCH_FLOAT_DTYPE(x.dtype, "rmsnorm_quantize", E,
                          SC_LAUNCH(unsigned(l.grid), l.block, stream, rmsnorm_quantize_kernel<E>)(
                              x.data, x.rows, x.cols, x.row_stride, norm_w, eps, o, static_cast<int8_t*>(q.data),
                              q.row_stride, scale);
                          SC_CUDA_CHECK_LAUNCH("rmsnorm_quantize_kernel"));
}

}  // namespace smoothcheck::kernels::cuda_launch
