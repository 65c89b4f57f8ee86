// numerics.md §1, one batch's per-channel statistics. One thread per channel walks the tokens in
// order (adjacent threads read adjacent channels: coalesced), with the CPU backend's arithmetic:
// comparisons written as maxps/minps evaluate them (so the sign of a zero agrees), sums in double in
// token order rounded to float once. The results therefore equal the CPU's bit for bit.
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;

template <class E>
__global__ void channel_stats_kernel(const void* x, int64_t rows, int64_t cols, int64_t x_stride,
                                     ChannelStatsOut out) {
  const auto* base = static_cast<const typename E::Storage*>(x);
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < cols; j += int64_t(gridDim.x) * blockDim.x) {
    float absmax = 0.0f, mn = INFINITY, mx = -INFINITY;
    double sum = 0.0, abssum = 0.0;
    for (int64_t t = 0; t < rows; ++t) {
      const float v = E::load(base[t * x_stride + j]);
      const float a = fabsf(v);
      absmax = a > absmax ? a : absmax;
      mn = v < mn ? v : mn;
      mx = v > mx ? v : mx;
      sum = __dadd_rn(sum, double(v));
      abssum = __dadd_rn(abssum, double(a));
    }
    if (out.absmax) out.absmax[j] = absmax;
    if (out.min) out.min[j] = mn;
    if (out.max) out.max[j] = mx;
    if (out.sum) out.sum[j] = float(sum);
    if (out.abssum) out.abssum[j] = float(abssum);
  }
}

}  // namespace

void channel_stats(ConstMatrix x, ChannelStatsOut out, cudaStream_t stream) {
  if (x.rows == 0 || x.cols == 0) return;  // as the CPU backend: nothing written
  const cuda_plan::Launch1D l = cuda_plan::plan_elements(x.cols);
  SC_DISPATCH_FLOAT_DTYPE(x.dtype, "channel_stats", E,
                          SC_LAUNCH(unsigned(l.grid), l.block, stream, channel_stats_kernel<E>)(
                              x.data, x.rows, x.cols, x.row_stride, out);
                          SC_CUDA_CHECK_LAUNCH("channel_stats_kernel"));
}

}  // namespace smoothcheck::kernels::cuda_launch
