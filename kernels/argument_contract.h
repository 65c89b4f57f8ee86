// The argument contract of every kernel of kernel_api.h, one for every backend (the CPU backend, the
// CUDA backend and its CPU emulation, which compiles the CUDA backend's source): the same calls are
// accepted and refused everywhere, with the same words. A backend calls validate_<kernel> first, with
// its short name ("cpu", "cuda"); a broken rule throws KernelError
//   "<backend>.<kernel>: <argument>: <the rule it broke>"
// e.g. "cuda.quantize_per_token: x: dtype i32 is not supported (expected f32, f16, bf16)".
//
// The contract is what the API promises, not what one implementation can launch: a backend's documented
// limits (cuBLASLt's int8 GEMM needs K and N multiples of 4) stay with that backend and throw
// UnsupportedArguments. Empty shapes are valid (the kernel does nothing): their pointers may be null and
// their row strides are not checked.
#pragma once

#include <cstdint>

#include "kernels/kernel_api.h"
#include "kernels/options.h"

namespace smoothcheck::kernels {

// The dtypes of float tensors and of the smoothing arithmetic (weight_stat, smooth_scale): f32, f16, bf16.
bool is_float_dtype(DType t);

// The first K at which int8 products summed in int32 can overflow: (-128) * (-128) * K reaches 2^31
// (numerics.md §7).
inline constexpr int64_t kGemmMaxK = 131072;

void validate_channel_stats(const char* backend, const ConstMatrix& x);
// Every fc [O_i, C] with one C; group_size > 0 for Recipe::lmdeploy only, dividing C. Stacks without rows
// (or C = 0) are valid and write nothing.
void validate_weight_stat(const char* backend, const ConstMatrix* fcs, int fc_count, Recipe recipe,
                          int64_t group_size, const float* w, DType arithmetic);
// alpha in [0, 1], as every recipe defines the migration strength.
void validate_smooth_scale(const char* backend, const float* a, const float* w, int64_t channels, Recipe recipe,
                           float alpha, const float* s, DType arithmetic);
void validate_scale_columns(const char* backend, const MutMatrix& w, const float* s);
void validate_divide_rows(const char* backend, const MutMatrix& w, const float* s);
void validate_divide_vector(const char* backend, const MutVector& v, const float* s);
void validate_quantize_weight(const char* backend, const ConstMatrix& w, WeightQuant variant, const MutMatrix& q,
                              const float* scale);
void validate_quantize_per_token(const char* backend, const ConstMatrix& x, const ActQuantOptions& o,
                                 const MutMatrix& q, const float* scale);
void validate_quantize_per_tensor(const char* backend, const ConstMatrix& x, float scale, const ActQuantOptions& o,
                                  const MutMatrix& q);
void validate_rmsnorm_quantize(const char* backend, const ConstMatrix& x, const ConstVector& norm_w, float eps,
                               const ActQuantOptions& o, const MutMatrix& q, const float* scale);
void validate_gemm_s8s8s32(const char* backend, const ConstMatrix& a, const ConstMatrix& b, const MutMatrix& acc);
// The weight given to pack_gemm_weight: b [N, K] int8 with K < kGemmMaxK (its a and output are checked by
// the gemm_*_packed call, against the packed weight's shape).
void validate_gemm_weight(const char* backend, const ConstMatrix& b);
void validate_gemm_w8a8(const char* backend, const ConstMatrix& a, const ConstMatrix& b, const float* scale_a,
                        const float* scale_b, const ConstVector& bias, Epilogue epilogue, const MutMatrix& out);

}  // namespace smoothcheck::kernels
