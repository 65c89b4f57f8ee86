// The one API every production backend implements (numerics.md §1-7), in raw pointers and shapes so
// that a CUDA stream or a CPU thread count is a property of the backend, not of the call.
//
// Conventions: matrices are row-major with a row stride in elements (rows may be padded); vectors are
// contiguous; scales and statistics are float32; int8 weights are [out_features, in_features] (the
// nn.Linear layout). A kernel reads and writes nothing outside the views it is given. Kernels throw
// KernelError for arguments they do not support (dtype, stride; the rules every backend shares are in
// argument_contract.h) and for device failures.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/options.h"

namespace smoothcheck::kernels {

struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A documented limit of one implementation rather than a failure (e.g. cuBLASLt's int8 GEMM needs K and
// N multiples of 4): the harness waives such a case with this message as the reason.
struct UnsupportedArguments : KernelError {
  using KernelError::KernelError;
};

struct ConstMatrix {
  const void* data = nullptr;
  DType dtype = DType::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride = 0;  // elements between row starts, >= cols
};

struct MutMatrix {
  void* data = nullptr;
  DType dtype = DType::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride = 0;
  ConstMatrix as_const() const { return ConstMatrix{data, dtype, rows, cols, row_stride}; }
};

struct ConstVector {
  const void* data = nullptr;  // nullptr: absent (an optional bias)
  DType dtype = DType::f32;
  int64_t size = 0;
};

struct MutVector {
  void* data = nullptr;
  DType dtype = DType::f32;
  int64_t size = 0;
};

// numerics.md §1: one batch's statistics per input channel, each a float[C] the caller owns.
// sum and abssum are sums over the batch's tokens (the runner divides by T for the means).
struct ChannelStatsOut {
  float* absmax = nullptr;
  float* min = nullptr;
  float* max = nullptr;
  float* sum = nullptr;
  float* abssum = nullptr;
};

// A GEMM weight b [N, K] int8 (the nn.Linear layout) packed once by Backend::pack_gemm_weight for any
// number of gemm_*_packed calls: SmoothQuant's weights are static, so a backend may keep them in its
// GEMM engine's own layout instead of re-packing them on every call. It owns its bytes: b may be
// changed or freed once packed, and a changed weight is simply packed again (there is no cache keyed on
// b's address that could go stale). Only the backend class that packed it reads it; any other throws
// KernelError. Backends without a layout of their own keep a plain copy (packed_gemm_weight.h).
class PackedGemmWeight {
 public:
  PackedGemmWeight(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {}
  virtual ~PackedGemmWeight() = default;
  PackedGemmWeight(const PackedGemmWeight&) = delete;
  PackedGemmWeight& operator=(const PackedGemmWeight&) = delete;
  int64_t rows() const { return rows_; }  // N
  int64_t cols() const { return cols_; }  // K

 private:
  int64_t rows_, cols_;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Whether the backend can run here; when not, *why_not says why (e.g. "no CUDA device").
  virtual bool available(std::string* why_not) const = 0;

  // §1: per-channel absmax/min/max/sum/abssum over the rows (tokens) of x [T, C]; f32/f16/bf16.
  virtual void channel_stats(ConstMatrix x, ChannelStatsOut out) = 0;

  // §2: the weight statistic of the fcs that share one input, stacked along rows (cat(dim=0)); each
  // fc is [O_i, C] with the same C. group_size > 0 (lmdeploy only) normalises groups of that many
  // channels by their own absmax instead of whole rows. Writes w[C]. arithmetic f16/bf16: every
  // step in that dtype as the public tools compute it on a model of that dtype (numerics.h, "smoothing
  // in the model's dtype"; SmoothingArithmetic::model_dtype); f32: float32 (double sums), rounded once.
  virtual void weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                           DType arithmetic = DType::f32) = 0;

  // §3: s[C] from the activation statistic a[C] (absmax, or max - min for llmcompressor) and w[C].
  // norm_weight[C] (may be nullptr) drives lmdeploy's normalisation over non-zero-norm channels, and
  // marks a norm source (smooth_ln_fcs) rather than an fc (smooth_fc_fcs). arithmetic as weight_stat's.
  virtual void smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels,
                            Recipe recipe, float alpha, float* s, DType arithmetic = DType::f32) = 0;

  // §4, in place, computed in f32 and rounded once to the tensor's dtype.
  virtual void scale_columns(MutMatrix w, const float* s) = 0;  // W[:, j] *= s_j (every fc after s)
  virtual void divide_rows(MutMatrix w, const float* s) = 0;    // W[j, :] /= s_j (the fc before s)
  virtual void divide_vector(MutVector v, const float* s) = 0;  // norm weight, norm or fc bias /= s

  // §5: per-output-channel int8 weights: q [O, C] int8 and scale[O].
  virtual void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) = 0;

  // §6: dynamic per-token quantisation of x [T, C] into q [T, C] int8 and scale[T]. When
  // migration_scale (s[C]) is given, x is first multiplied by 1/s (the migration runtime step).
  virtual void quantize_per_token(ConstMatrix x, const float* migration_scale, const ActQuantOptions& o,
                                  MutMatrix q, float* scale) = 0;
  // §6: static per-tensor quantisation with a given scale.
  virtual void quantize_per_tensor(ConstMatrix x, const float* migration_scale, float scale,
                                   const ActQuantOptions& o, MutMatrix q) = 0;
  // §6: RMSNorm (f32 variance) with weight norm_w[C] (the activation dtype), then per-token quantisation.
  virtual void rmsnorm_quantize(ConstMatrix x, ConstVector norm_w, float eps, const ActQuantOptions& o,
                                MutMatrix q, float* scale) = 0;

  // §7: exact int32 accumulators acc [M, N] = a [M, K] int8 · b [N, K]ᵀ int8.
  virtual void gemm_s8s8s32(ConstMatrix a, ConstMatrix b, MutMatrix acc) = 0;
  // §7: the same product with the epilogue fused: out [M, N] in f32/f16/bf16; bias (optional,
  // bias.data == nullptr when absent) has out's dtype.
  virtual void gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* scale_a, const float* scale_b,
                         ConstVector bias, Epilogue epilogue, MutMatrix out) = 0;

  // §7 with a prepacked weight: b [N, K] int8 packed once, then the same two products, bit for bit what
  // gemm_s8s8s32 / gemm_w8a8 give for the b it was packed from. The defaults (packed_gemm_weight.cpp)
  // keep a contiguous copy of b and call the plain kernels; a backend overrides all three together.
  virtual std::unique_ptr<PackedGemmWeight> pack_gemm_weight(ConstMatrix b);
  virtual void gemm_s8s8s32_packed(ConstMatrix a, const PackedGemmWeight& b, MutMatrix acc);
  virtual void gemm_w8a8_packed(ConstMatrix a, const PackedGemmWeight& b, const float* scale_a,
                                const float* scale_b, ConstVector bias, Epilogue epilogue, MutMatrix out);
};

}  // namespace smoothcheck::kernels
