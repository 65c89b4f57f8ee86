// numerics.md §6, static per-tensor int8 quantisation (vLLM's static_scaled_int8_quant): one given
// scale, the options decide divide or reciprocal-multiply. One block per row, 16-byte vector loads.
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;

template <class E>
__global__ void __launch_bounds__(cuda_plan::kRowBlock)
    quantize_per_tensor_kernel(const void* x, int64_t rows, int64_t cols, int64_t x_stride, const float* recip,
                               nx::RowScale rs, ActQuantOptions o, int8_t* q, int64_t q_stride) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    int8_t* q_row = q + r * q_stride;
    for_each_in_row<E>(row_ptr<E>(x, x_stride, r), cols, [&](int64_t j, float v) {
      if (recip) v = nx::mul_rn(v, recip[j]);
      q_row[j] = nx::quantize_value(v, rs, o);
    });
  }
}

}  // namespace

void quantize_per_tensor(ConstMatrix x, const float* recip, float scale, const ActQuantOptions& o, MutMatrix q,
                         cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_rows(x.rows);
  if (l.grid == 0) return;
  // Host and device compute the same IEEE division here (numerics.h div_rn).
  const nx::RowScale rs = nx::row_scale_from_scale(scale);
  SC_DISPATCH_FLOAT_DTYPE(x.dtype, "quantize_per_tensor", E,
                          SC_LAUNCH(unsigned(l.grid), l.block, stream, quantize_per_tensor_kernel<E>)(
                              x.data, x.rows, x.cols, x.row_stride, recip, rs, o, static_cast<int8_t*>(q.data),
                              q.row_stride);
                          SC_CUDA_CHECK_LAUNCH("quantize_per_tensor_kernel"));
}

}  // namespace smoothcheck::kernels::cuda_launch
