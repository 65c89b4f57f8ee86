// numerics.md §5, per-output-channel symmetric int8 weights: one block per output row, its absmax
// (block reduction), numerics::weight_row_scale and numerics::weight_code for the named variant, in
// its arithmetic dtype (numerics::weight_arithmetic, chosen on the host).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;

template <class E>
__global__ void __launch_bounds__(cuda_plan::kRowBlock)
    quantize_weight_kernel(const void* w, int64_t rows, int64_t cols, int64_t stride, WeightQuant variant,
                           DType arithmetic, int8_t* q, int64_t q_stride, float* scale) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const auto* row = row_ptr<E>(w, stride, r);
    float local = 0.0f;
    for_each_in_row<E>(row, cols, [&](int64_t, float v) { local = fmaxf(local, fabsf(v)); });
    const float row_scale = nx::weight_row_scale(block_max_broadcast<cuda_plan::kRowBlock>(local), variant, arithmetic);
    int8_t* q_row = q + r * q_stride;
    for_each_in_row<E>(row, cols, [&](int64_t j, float v) { q_row[j] = nx::weight_code(v, row_scale, variant, arithmetic); });
    if (threadIdx.x == 0) scale[r] = row_scale;
  }
}

}  // namespace

void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale, cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_rows(w.rows);
  if (l.grid == 0) return;
  SC_DISPATCH_FLOAT_DTYPE(w.dtype, "quantize_weight", E,
                          SC_LAUNCH(unsigned(l.grid), l.block, stream, quantize_weight_kernel<E>)(
                              w.data, w.rows, w.cols, w.row_stride, variant, nx::weight_arithmetic(variant, w.dtype),
                              static_cast<int8_t*>(q.data),
                              q.row_stride, scale);
                          SC_CUDA_CHECK_LAUNCH("quantize_weight_kernel"));
}

}  // namespace smoothcheck::kernels::cuda_launch
