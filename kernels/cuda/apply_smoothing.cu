// numerics.md §4, applying s in place: W[:, j] *= s_j, W[j, :] /= s_j, v_j /= s_j, each in f32 with
// one rounding to the tensor's dtype (true multiplication and division, numerics.h mul_rn/div_rn).
// One block per row with 16-byte vector loads; stores are scalar (the row may start anywhere).
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;

template <class E, bool kScaleColumns>
__global__ void __launch_bounds__(cuda_plan::kRowBlock)
    apply_smoothing_kernel(void* w, int64_t rows, int64_t cols, int64_t stride, const float* s) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    auto* row = row_ptr<E>(w, stride, r);
    const float row_s = kScaleColumns ? 0.0f : s[r];
    // Each element is read and written by the same thread, once.
    for_each_in_row<E>(row, cols, [&](int64_t j, float v) {
      row[j] = E::store(kScaleColumns ? nx::mul_rn(v, s[j]) : nx::div_rn(v, row_s));
    });
  }
}

template <class E>
__global__ void divide_vector_kernel(void* v, int64_t n, const float* s) {
  auto* p = static_cast<typename E::Storage*>(v);
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += int64_t(gridDim.x) * blockDim.x)
    p[j] = E::store(nx::div_rn(E::load(p[j]), s[j]));
}

template <bool kScaleColumns>
void apply(MutMatrix w, const float* s, cudaStream_t stream, const char* what) {
  const cuda_plan::Launch1D l = cuda_plan::plan_rows(w.rows);
  if (l.grid == 0 || w.cols == 0) return;
  SC_DISPATCH_FLOAT_DTYPE(w.dtype, what, E,
                          SC_LAUNCH(unsigned(l.grid), l.block, stream, apply_smoothing_kernel<E, kScaleColumns>)(
                              w.data, w.rows, w.cols, w.row_stride, s);
                          SC_CUDA_CHECK_LAUNCH("apply_smoothing_kernel"));
}

}  // namespace

void scale_columns(MutMatrix w, const float* s, cudaStream_t stream) { apply<true>(w, s, stream, "scale_columns"); }
void divide_rows(MutMatrix w, const float* s, cudaStream_t stream) { apply<false>(w, s, stream, "divide_rows"); }

void divide_vector(MutVector v, const float* s, cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_elements(v.size);
  if (l.grid == 0) return;
  SC_DISPATCH_FLOAT_DTYPE(v.dtype, "divide_vector", E,
                          SC_LAUNCH(unsigned(l.grid), l.block, stream, divide_vector_kernel<E>)(v.data, v.size, s);
                          SC_CUDA_CHECK_LAUNCH("divide_vector_kernel"));
}

}  // namespace smoothcheck::kernels::cuda_launch
