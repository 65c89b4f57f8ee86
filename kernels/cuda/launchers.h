// The device-side entry points of the CUDA backend, one group per .cu file. Every view here holds
// DEVICE pointers (the ConstMatrix/MutMatrix structs of kernel_api.h reused); the host backend
// (cuda_backend.cpp) does the copies, the validation and the dtype dispatch. Benchmarks that want
// kernel-only timings can call these directly on device buffers. Each launcher checks its launch and
// throws KernelError; none synchronises.
#pragma once

#include "kernels/cuda/cuda_headers.h"

#include <cstdint>

#include "kernels/cuda/launch_plan.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::kernels::cuda_launch {

// quantize_per_token.cu / quantize_per_tensor.cu. recip: device float[C] of migration reciprocals
// (numerics::migration_reciprocal(s_j)) or nullptr.
void migration_reciprocals(const float* s, int64_t n, float* recip, cudaStream_t stream);
void quantize_per_token(ConstMatrix x, const float* recip, const ActQuantOptions& o, MutMatrix q, float* scale,
                        cudaStream_t stream);
void quantize_per_tensor(ConstMatrix x, const float* recip, float scale, const ActQuantOptions& o, MutMatrix q,
                         cudaStream_t stream);

// rmsnorm_quantize.cu. norm_w: device float[C] (the norm weight converted exactly from its dtype).
void rmsnorm_quantize(ConstMatrix x, const float* norm_w, float eps, const ActQuantOptions& o, MutMatrix q,
                      float* scale, cudaStream_t stream);

// channel_stats.cu. out: device float[C] each.
void channel_stats(ConstMatrix x, ChannelStatsOut out, cudaStream_t stream);

// weight_stat.cu, on one float64 accumulator acc[C], then weight_stat_finalize. lmdeploy's 1e-4 clamp
// of the row absmax is decided over the whole stack (clamp all when the smallest is 0), so for a stack
// of several fcs: weight_stat_row_absmax of every fc into one row_absmax[total_rows * groups], then
// weight_stat_clamp_row_absmax over all of it, then weight_stat_accumulate_columns(fc_i, its slice of
// row_absmax, first = (i == 0)). The other recipes need only the last step (row_absmax unused).
// weight_stat_accumulate does the three for one fc that is the whole stack.
// row_absmax: device float[rows * groups] (lmdeploy only; groups = C / group_size or 1). arithmetic:
// f32, or the bf16/f16 dtype every step is rounded to (Backend::weight_stat).
void weight_stat_row_absmax(ConstMatrix w, int64_t group_size, float* row_absmax, cudaStream_t stream);
void weight_stat_clamp_row_absmax(float* row_absmax, int64_t count, DType arithmetic, cudaStream_t stream);
void weight_stat_accumulate_columns(ConstMatrix w, Recipe recipe, int64_t group_size, const float* row_absmax,
                                    double* acc, bool first, DType arithmetic, cudaStream_t stream);
void weight_stat_accumulate(ConstMatrix w, Recipe recipe, int64_t group_size, float* row_absmax, double* acc,
                            bool first, DType arithmetic, cudaStream_t stream);
void weight_stat_finalize(const double* acc, int64_t channels, Recipe recipe, int64_t total_rows, float* w,
                          DType arithmetic, cudaStream_t stream);

// smooth_scale.cu. norm_weight may be nullptr. arithmetic as weight_stat's.
void smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                  float alpha, float* s, DType arithmetic, cudaStream_t stream);

// apply_smoothing.cu, in place.
void scale_columns(MutMatrix w, const float* s, cudaStream_t stream);
void divide_rows(MutMatrix w, const float* s, cudaStream_t stream);
void divide_vector(MutVector v, const float* s, cudaStream_t stream);

// quantize_weight.cu.
void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale, cudaStream_t stream);

// gemm_w8a8.cu. a: [plan.m_pad, plan.k_pad] int8, b: [plan.n_pad, plan.k_pad] int8, both zero-padded.
// out: [M, N] with row stride ldo in out_dtype (i32: the raw accumulators, epilogue ignored).
struct EpilogueArgs {
  const float* scale_a = nullptr;  // [M]
  const float* scale_b = nullptr;  // [N]
  const float* bias = nullptr;     // [N] f32 (converted exactly from out's dtype) or nullptr
  Epilogue kind = Epilogue::vllm;
};
void gemm_mma(const int8_t* a, const int8_t* b, const cuda_plan::GemmPlan& plan, const EpilogueArgs& ep,
              void* out, DType out_dtype, int64_t ldo, cudaStream_t stream);
// The same epilogue over int32 accumulators acc [M, N] (row stride ldacc): the cuBLASLt path.
void gemm_epilogue(const int32_t* acc, int64_t ldacc, int64_t m, int64_t n, const EpilogueArgs& ep, void* out,
                   DType out_dtype, int64_t ldo, cudaStream_t stream);

// gemm_cublaslt.cpp. acc [M, N] int32 (row stride N) = a [M, K] (row stride K) · b [N, K]ᵀ (row stride
// K). Throws KernelError naming the constraint for shapes cuBLASLt's int8 path does not take.
void cublaslt_gemm_s8s8s32(cublasLtHandle_t handle, const int8_t* a, const int8_t* b, int32_t* acc, int64_t m,
                           int64_t n, int64_t k, void* workspace, size_t workspace_bytes, cudaStream_t stream);

}  // namespace smoothcheck::kernels::cuda_launch
