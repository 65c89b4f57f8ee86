// numerics.md §6, dynamic per-token int8 quantisation: one block per token, the row read twice
// (absmax, then codes) with 16-byte vector loads; the scale and codes come from numerics.h, so they
// equal the CPU backend's bit for bit. The migration variant multiplies each element by the f32
// reciprocal of s_j first (numerics::migration_reciprocal, computed once per channel).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;

__global__ void migration_reciprocals_kernel(const float* s, int64_t n, float* recip) {
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += int64_t(gridDim.x) * blockDim.x)
    recip[j] = nx::migration_reciprocal(s[j]);
}

template <class E, int kBlock>
__global__ void __launch_bounds__(kBlock)
    quantize_per_token_kernel(const void* x, int64_t rows, int64_t cols, int64_t x_stride, const float* recip,
                              ActQuantOptions o, int8_t* q, int64_t q_stride, float* scale) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const auto* row = row_ptr<E>(x, x_stride, r);
    float local = 0.0f;
    for_each_in_row<E>(row, cols, [&](int64_t j, float v) {
      if (recip) v = nx::mul_rn(v, recip[j]);
      local = fmaxf(local, fabsf(v));
    });
    const float absmax = block_max_broadcast<kBlock>(local);
    const nx::RowScale rs = nx::row_scale_from_absmax(absmax, o);
    int8_t* q_row = q + r * q_stride;
    for_each_in_row<E>(row, cols, [&](int64_t j, float v) {
      if (recip) v = nx::mul_rn(v, recip[j]);
      q_row[j] = nx::quantize_value(v, rs, o);
    });
    if (threadIdx.x == 0) scale[r] = rs.scale;
  }
}

}  // namespace

void migration_reciprocals(const float* s, int64_t n, float* recip, cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_elements(n);
  if (l.grid == 0) return;
  SC_LAUNCH(unsigned(l.grid), l.block, stream, migration_reciprocals_kernel)(s, n, recip);
  SC_CUDA_CHECK_LAUNCH("migration_reciprocals_kernel");
}

void quantize_per_token(ConstMatrix x, const float* recip, const ActQuantOptions& o, MutMatrix q, float* scale,
                        cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_rows(x.rows);
  static_assert(cuda_plan::kRowBlock == 256, "kernel instantiated for 256 threads");
  if (l.grid == 0) return;
  SC_DISPATCH_FLOAT_DTYPE(x.dtype, "quantize_per_token", E,
                          SC_LAUNCH(unsigned(l.grid), l.block, stream, quantize_per_token_kernel<E, cuda_plan::kRowBlock>)(
                              x.data, x.rows, x.cols, x.row_stride, recip, o, static_cast<int8_t*>(q.data),
                              q.row_stride, scale);
                          SC_CUDA_CHECK_LAUNCH("quantize_per_token_kernel"));
}

}  // namespace smoothcheck::kernels::cuda_launch
