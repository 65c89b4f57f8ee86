// numerics.md §2, the weight statistic w_j over the rows of every fc that reads one input (cat(dim=0)).
// Column maxima are exact in any order. lmdeploy's mean of |W[r,j]| / rowmax is formed in float64
// (each ratio and the running sum over rows in fc order, row order) and rounded to float once, which
// is the reference's value rounded, not a replay of lmdeploy's fp16 arithmetic, unless a bf16/f16
// arithmetic is named: then each ratio is rounded to it before the (exact) float64 sum and the mean
// rounded to it, as torch's get_weight_scale on such tensors (kernels/numerics.h). lmdeploy's 1e-4 clamp
// of the row (group) absmax is all or nothing over the whole stack (lmdeploy 0.18.0
// lite/quantization/awq.py get_weight_scale, lines 150-153: every absmax is clamped only when the
// smallest is exactly 0), so every fc's row absmax is known before any column is accumulated.
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;

// One block per row: the absmax of each of its `groups` groups of `group` consecutive elements.
template <class E>
__global__ void __launch_bounds__(cuda_plan::kRowBlock)
    row_group_absmax_kernel(const void* w, int64_t rows, int64_t stride, int64_t groups, int64_t group,
                            float* absmax) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const auto* row = row_ptr<E>(w, stride, r);
    for (int64_t g = 0; g < groups; ++g) {
      float local = 0.0f;
      for (int64_t j = g * group + threadIdx.x; j < (g + 1) * group; j += blockDim.x)
        local = fmaxf(local, fabsf(E::load(row[j])));
      const float m = block_max_broadcast<cuda_plan::kRowBlock>(local);
      if (threadIdx.x == 0) absmax[r * groups + g] = m;
    }
  }
}

// One block: clamps every absmax to 1e-4 when the smallest is exactly 0, else leaves all as they are.
// torch's min() propagates NaN and NaN == 0 is false, so a NaN stands in the reduction as -1: no clamp.
__global__ void __launch_bounds__(cuda_plan::kRowBlock) clamp_row_absmax_kernel(float* absmax, int64_t count,
                                                                                 DType arithmetic) {
  float local = INFINITY;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
    local = absmax[i] >= 0.0f ? fminf(local, absmax[i]) : -1.0f;
  using Reduce = cub::BlockReduce<float, cuda_plan::kRowBlock>;
  SC_SHARED(typename Reduce::TempStorage, temp);
  SC_SHARED(bool, shared_clamp);
  const float smallest = Reduce(temp).Reduce(local, cuda::minimum<>{});
  if (threadIdx.x == 0) shared_clamp = smallest == 0.0f;
  __syncthreads();
  if (!shared_clamp) return;
  const float floor = nx::round_to(1e-4f, arithmetic);  // clamp(min=1e-4) on a tensor of that dtype
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) absmax[i] = fmaxf(absmax[i], floor);
}

// One thread per channel, rows in order.
template <class E>
__global__ void column_accumulate_kernel(const void* w, int64_t rows, int64_t cols, int64_t stride, Recipe recipe,
                                         const float* row_absmax, int64_t groups, int64_t group, double* acc,
                                         bool first, DType arithmetic) {
  const auto* base = static_cast<const typename E::Storage*>(w);
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < cols; j += int64_t(gridDim.x) * blockDim.x) {
    if (recipe == Recipe::lmdeploy) {
      double sum = first ? 0.0 : acc[j];
      const int64_t g = j / group;
      for (int64_t r = 0; r < rows; ++r) {
        const float x = fabsf(E::load(base[r * stride + j]));
        const float denom = row_absmax[r * groups + g];  // already clamped, or not, by the stack
        // f32: the float64 quotient; a bf16/f16 arithmetic: the f32 quotient rounded to it (exact in double)
        const double ratio = arithmetic == DType::f32 ? __ddiv_rn(double(x), double(denom))
                                                      : double(nx::round_to(nx::div_rn(x, denom), arithmetic));
        sum = __dadd_rn(sum, ratio);
      }
      acc[j] = sum;
    } else {
      float m = first ? 0.0f : float(acc[j]);
      for (int64_t r = 0; r < rows; ++r) m = fmaxf(m, fabsf(E::load(base[r * stride + j])));
      acc[j] = double(m);
    }
  }
}

__global__ void weight_stat_finalize_kernel(const double* acc, int64_t channels, Recipe recipe, int64_t total_rows,
                                            float* w, DType arithmetic) {
  for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < channels;
       j += int64_t(gridDim.x) * blockDim.x) {
    switch (recipe) {
      case Recipe::smoothquant: w[j] = fmaxf(float(acc[j]), nx::round_to(1e-5f, arithmetic)); break;  // the clamp
      case Recipe::llmcompressor: w[j] = nx::round_to(float(2.0 * acc[j]), arithmetic); break;        // doubling
      case Recipe::lmdeploy: w[j] = nx::round_to(float(__ddiv_rn(acc[j], double(total_rows))), arithmetic); break;
    }
  }
}

// Groups per row: lmdeploy's group_size (0: the whole row); one for the other recipes.
int64_t groups_of(ConstMatrix w, Recipe recipe, int64_t group_size) {
  std::string why;
  const int64_t groups =
      recipe == Recipe::lmdeploy ? cuda_plan::weight_groups_per_row(w.cols, group_size, &why) : 1;
  if (groups < 0) throw KernelError(why);
  return groups;
}

}  // namespace

void weight_stat_row_absmax(ConstMatrix w, int64_t group_size, float* row_absmax, cudaStream_t stream) {
  if (w.cols == 0) return;
  const int64_t groups = groups_of(w, Recipe::lmdeploy, group_size), group = w.cols / groups;
  const cuda_plan::Launch1D rows = cuda_plan::plan_rows(w.rows);
  if (rows.grid == 0) return;
  SC_DISPATCH_FLOAT_DTYPE(
      w.dtype, "weight_stat", E,
      SC_LAUNCH(unsigned(rows.grid), rows.block, stream, row_group_absmax_kernel<E>)(w.data, w.rows, w.row_stride,
                                                                                 groups, group, row_absmax);
      SC_CUDA_CHECK_LAUNCH("row_group_absmax_kernel"));
}

void weight_stat_clamp_row_absmax(float* row_absmax, int64_t count, DType arithmetic, cudaStream_t stream) {
  if (count <= 0) return;
  SC_LAUNCH(1, cuda_plan::kRowBlock, stream, clamp_row_absmax_kernel)(row_absmax, count, arithmetic);
  SC_CUDA_CHECK_LAUNCH("clamp_row_absmax_kernel");
}

void weight_stat_accumulate_columns(ConstMatrix w, Recipe recipe, int64_t group_size, const float* row_absmax,
                                    double* acc, bool first, DType arithmetic, cudaStream_t stream) {
  if (w.cols == 0) return;
  const int64_t groups = groups_of(w, recipe, group_size), group = w.cols / groups;
  const cuda_plan::Launch1D cols = cuda_plan::plan_elements(w.cols);
  SC_DISPATCH_FLOAT_DTYPE(
      w.dtype, "weight_stat", E,
      SC_LAUNCH(unsigned(cols.grid), cols.block, stream, column_accumulate_kernel<E>)(
          w.data, w.rows, w.cols, w.row_stride, recipe, row_absmax, groups, group, acc, first, arithmetic);
      SC_CUDA_CHECK_LAUNCH("column_accumulate_kernel"));
}

void weight_stat_accumulate(ConstMatrix w, Recipe recipe, int64_t group_size, float* row_absmax, double* acc,
                            bool first, DType arithmetic, cudaStream_t stream) {
  if (w.cols == 0) return;
  if (recipe == Recipe::lmdeploy) {
    weight_stat_row_absmax(w, group_size, row_absmax, stream);
    weight_stat_clamp_row_absmax(row_absmax, w.rows * groups_of(w, recipe, group_size), arithmetic, stream);
  }
  weight_stat_accumulate_columns(w, recipe, group_size, row_absmax, acc, first, arithmetic, stream);
}

void weight_stat_finalize(const double* acc, int64_t channels, Recipe recipe, int64_t total_rows, float* w,
                          DType arithmetic, cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_elements(channels);
  if (l.grid == 0) return;
  SC_LAUNCH(unsigned(l.grid), l.block, stream, weight_stat_finalize_kernel)(acc, channels, recipe, total_rows, w,
                                                                            arithmetic);
  SC_CUDA_CHECK_LAUNCH("weight_stat_finalize_kernel");
}

}  // namespace smoothcheck::kernels::cuda_launch
