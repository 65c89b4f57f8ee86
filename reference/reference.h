// The straightforward implementation of every step of numerics.md §1-7, in float64 (LibTorch inside
// the .cpp files; this header is torch-free so that few translation units pay for LibTorch's headers).
//
// Inputs are exact float64 copies of the kernel's inputs (every f32/f16/bf16/int8 value is exactly
// representable in float64). Where a public implementation rounds an intermediate to a narrower type,
// the reference rounds it too, correctly, and says so. Outputs are float64.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/options.h"  // the shared option names only; no kernel arithmetic

namespace smoothcheck::reference {

// A dense row-major float64 matrix.
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> values;  // rows * cols

  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), values(std::size_t(r * c), 0.0) {}
  double& at(int64_t r, int64_t c) { return values[std::size_t(r * cols + c)]; }
  double at(int64_t r, int64_t c) const { return values[std::size_t(r * cols + c)]; }
};

using Vector = std::vector<double>;

// Correct rounding (to nearest, ties to even) of a float64 value to f32, f16 or bf16, including
// subnormals and overflow to infinity; f64 returns the value. Not through float first: a double
// rounded to f32 and then to f16 can land on the wrong side of a tie.
double round_to_dtype(double value, DType dtype);
// The spacing of dtype's floats (f32, f16, bf16) at |x|: its unit in the last place, the subnormal
// spacing below the normal range. Tiers and tolerances in ulps are counted in it.
double ulp_of(double x, DType dtype);

// ---- §1 activation statistics -----------------------------------------------------------------------
struct BatchChannelStats {  // one batch, per channel over its tokens
  Vector absmax, min, max, sum, abssum;
};
BatchChannelStats channel_stats(const Matrix& x);

// lmdeploy's running update across batches: absmax and max by running max, min by running min, mean
// and absmean as the running mean of per-batch means (each batch counts equally).
class ActivationStatsAccumulator {
 public:
  void update(const Matrix& batch);
  int64_t batches() const { return batches_; }
  const Vector& absmax() const { return absmax_; }
  const Vector& min() const { return min_; }
  const Vector& max() const { return max_; }
  const Vector& mean() const { return mean_; }
  const Vector& absmean() const { return absmean_; }

 private:
  int64_t batches_ = 0;
  Vector absmax_, min_, max_, mean_, absmean_;
};

// ---- §2-3 weight statistic and smoothing scale ------------------------------------------------------
// fcs: every fc that reads the smoothed input, [O_i, C] each, concatenated along rows.
Vector weight_stat(const std::vector<Matrix>& fcs, Recipe recipe, int64_t group_size);
// a: absmax (smoothquant, lmdeploy) or max - min (llmcompressor). norm_weight may be empty.
Vector smooth_scale(const Vector& a, const Vector& w, const Vector& norm_weight, Recipe recipe, double alpha);
// The same two as the public tools compute them on a model of dtype t (f32, f16 or bf16): every step
// a float32 operation rounded to t (smoothing_stepwise.cpp), on a and weights that hold values of t.
Vector weight_stat_stepwise(const std::vector<Matrix>& fcs, Recipe recipe, int64_t group_size, DType t);
Vector smooth_scale_stepwise(const Vector& a, const Vector& w, const Vector& norm_weight, Recipe recipe, double alpha,
                             DType t);

// ---- §4 applying s; each result is rounded to the tensor's dtype -------------------------------------
Matrix scale_columns(const Matrix& w, const Vector& s, DType dtype);   // W[:, j] * s_j
Matrix divide_rows(const Matrix& w, const Vector& s, DType dtype);     // W[j, :] / s_j
Vector divide_vector(const Vector& v, const Vector& s, DType dtype);   // v_j / s_j

// ---- §5-6 quantisation ------------------------------------------------------------------------------
struct Quantized {
  Vector scale;   // per output row (weights), per token, or one element (per tensor)
  Matrix scaled;  // the value before rounding, in exact arithmetic: value / scale
  Matrix codes;   // the int8 codes the named option produces, as float64
  Matrix input;   // what was quantised: w, x, x / s, or the dtype-rounded RMSNorm output
};

Quantized quantize_weight(const Matrix& w, WeightQuant variant);
// The same with the scale and w / scale each rounded as the public quantisers compute them for a weight
// stored as `stored` (weight_arithmetic_dtype: lmdeploy in f32, the authors and compressed-tensors in
// the weight's dtype): for rows whose exact values are ties (constant rows under compressed-tensors) and
// for f16/bf16 weights under the quantisers that divide in that dtype. w must hold `stored` values.
Quantized quantize_weight_stepwise(const Matrix& w, WeightQuant variant, DType stored);
DType weight_arithmetic_dtype(WeightQuant variant, DType stored);
// migration_scale: empty, or s[C] (the activation is divided by s first).
Quantized quantize_per_token(const Matrix& x, const Vector& migration_scale, const ActQuantOptions& o);
Quantized quantize_per_tensor(const Matrix& x, const Vector& migration_scale, double scale,
                              const ActQuantOptions& o);
// The same quantisers with x / scale formed by the f32 arithmetic o.math names (divide by fl(scale), or
// multiply by fl(127 / absmax) resp. fl(1 / scale)), each step correctly rounded to f32: for cases whose
// inputs sit where the two formulas give different codes. x must hold f32 values; no migration.
Quantized quantize_per_token_f32(const Matrix& x, const ActQuantOptions& o);
Quantized quantize_per_tensor_f32(const Matrix& x, double scale, const ActQuantOptions& o);
// act_dtype: the dtype the RMSNorm output is rounded to before quantisation (lmdeploy).
Quantized rmsnorm_quantize(const Matrix& x, const Vector& norm_weight, double eps, DType act_dtype,
                           const ActQuantOptions& o);

// ---- §7 W8A8 GEMM -----------------------------------------------------------------------------------
// Exact integer products, a [M, K] codes times b [N, K] codes transposed (exact in float64 for any
// K < 2^38).
Matrix gemm_s8s8s32(const Matrix& a, const Matrix& b);

struct GemmOutput {
  Matrix exact;    // sa[m] * sb[n] * acc + bias[n] in exact arithmetic (float64)
  Matrix rounded;  // vLLM: its f32 arithmetic step by step (float(acc), sb * acc, one fma with sa and the
                   // bias), then out_dtype: the kernel's value bit for bit. lmdeploy: sa*sb*acc correctly
                   // rounded to out_dtype, then the bias added in out_dtype.
};
// The W8A8 GEMM from its exact accumulators (gemm_s8s8s32 of the codes): the dequantising epilogue.
// bias may be empty; out_dtype is f32, f16 or bf16 (the bias is taken as already in out_dtype).
GemmOutput gemm_w8a8(const Matrix& acc, const Vector& scale_a, const Vector& scale_b, const Vector& bias,
                     Epilogue epilogue, DType out_dtype);

}  // namespace smoothcheck::reference
