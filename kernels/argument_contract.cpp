#include "kernels/argument_contract.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>

namespace smoothcheck::kernels {
namespace {

constexpr std::initializer_list<DType> kFloat = {DType::f32, DType::f16, DType::bf16};
constexpr std::initializer_list<DType> kInt8 = {DType::i8};
constexpr std::initializer_list<DType> kInt32 = {DType::i32};

std::string shape_of(int64_t rows, int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

// The checks of one call: every failure names the backend and the kernel, then what broke.
class CallCheck {
 public:
  CallCheck(const char* backend, const char* kernel) : backend_(backend), kernel_(kernel) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw KernelError(std::string(backend_) + "." + kernel_ + ": " + message);
  }
  void require(bool ok, const std::string& message) const {
    if (!ok) fail(message);
  }

  void dtype(DType t, const std::string& arg, std::initializer_list<DType> allowed) const {
    if (std::find(allowed.begin(), allowed.end(), t) != allowed.end()) return;
    std::string expected;
    for (DType a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(to_string(a));
    fail(arg + ": dtype " + to_string(t) + " is not supported (expected " + expected + ")");
  }

  // rows, cols >= 0; when not empty, row_stride >= cols and data non-null; dtype one of `allowed`.
  void matrix(const ConstMatrix& m, const std::string& arg, std::initializer_list<DType> allowed) const {
    dtype(m.dtype, arg, allowed);
    require(m.rows >= 0 && m.cols >= 0, arg + ": negative shape " + shape_of(m.rows, m.cols));
    if (m.rows == 0 || m.cols == 0) return;
    require(m.row_stride >= m.cols,
            arg + ": row_stride " + std::to_string(m.row_stride) + " < cols " + std::to_string(m.cols));
    require(m.data != nullptr, arg + ": null data for a " + shape_of(m.rows, m.cols) + " matrix");
  }
  void matrix(const MutMatrix& m, const std::string& arg, std::initializer_list<DType> allowed) const {
    matrix(m.as_const(), arg, allowed);
  }

  void vector(const ConstVector& v, const std::string& arg, std::initializer_list<DType> allowed) const {
    dtype(v.dtype, arg, allowed);
    require(v.size >= 0, arg + ": negative size " + std::to_string(v.size));
    array(v.data, v.size, arg);
  }

  // An array of `count` elements: non-null unless count == 0.
  void array(const void* p, int64_t count, const std::string& arg) const {
    require(count == 0 || p != nullptr, arg + ": null pointer for " + std::to_string(count) + " elements");
  }

  void same_shape(const ConstMatrix& a, const MutMatrix& b, const char* a_name, const char* b_name) const {
    require(a.rows == b.rows && a.cols == b.cols,
            std::string(b_name) + " is " + shape_of(b.rows, b.cols) + " but " + a_name + " is " +
                shape_of(a.rows, a.cols));
  }

  void act_quant_options(const ActQuantOptions& o) const {
    require(o.zero_row != ZeroRow::floor || (std::isfinite(o.absmax_floor) && o.absmax_floor >= 0.0f),
            "absmax_floor must be finite and >= 0");
  }

  void recipe(Recipe r) const {
    require(r == Recipe::smoothquant || r == Recipe::lmdeploy || r == Recipe::llmcompressor, "unknown recipe");
  }

  // The int8 operands a [M, K] and b [N, K] of both GEMMs, and their output [M, N].
  void gemm_operands(const ConstMatrix& a, const ConstMatrix& b) const {
    matrix(a, "a", kInt8);
    matrix(b, "b", kInt8);
    require(a.cols == b.cols,
            "a is [M, " + std::to_string(a.cols) + "] but b is [N, " + std::to_string(b.cols) + "] (both [*, K])");
    require(a.cols < kGemmMaxK, "K = " + std::to_string(a.cols) + " >= " + std::to_string(kGemmMaxK) +
                                    ": int32 accumulators could overflow (numerics.md §7)");
  }
  void gemm_output(const ConstMatrix& a, const ConstMatrix& b, const MutMatrix& out, const char* name) const {
    require(out.rows == a.rows && out.cols == b.rows, std::string(name) + " is " + shape_of(out.rows, out.cols) +
                                                          ", expected [M, N] = " + shape_of(a.rows, b.rows));
  }

 private:
  const char* backend_;
  const char* kernel_;
};

}  // namespace

bool is_float_dtype(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

void validate_channel_stats(const char* backend, const ConstMatrix& x) {
  CallCheck(backend, "channel_stats").matrix(x, "x", kFloat);
}

void validate_weight_stat(const char* backend, const ConstMatrix* fcs, int fc_count, Recipe recipe,
                          int64_t group_size, const float* w, DType arithmetic) {
  const CallCheck check(backend, "weight_stat");
  check.require(fc_count >= 1 && fcs != nullptr, "needs at least one fc");
  const int64_t cols = fcs[0].cols;
  for (int i = 0; i < fc_count; ++i) {
    const std::string name = "fcs[" + std::to_string(i) + "]";
    check.matrix(fcs[i], name, kFloat);
    check.require(fcs[i].cols == cols,
                  name + " has " + std::to_string(fcs[i].cols) + " columns, fcs[0] has " + std::to_string(cols));
  }
  check.array(w, cols, "w");
  check.recipe(recipe);
  check.require(group_size >= 0, "group_size must be >= 0");
  check.dtype(arithmetic, "arithmetic", kFloat);
  if (group_size > 0) {
    check.require(recipe == Recipe::lmdeploy, "group_size > 0 is defined for Recipe::lmdeploy only");
    check.require(cols % group_size == 0, "in_features " + std::to_string(cols) + " is not a multiple of group_size " +
                                              std::to_string(group_size));
  }
}

void validate_smooth_scale(const char* backend, const float* a, const float* w, int64_t channels, Recipe recipe,
                           float alpha, const float* s, DType arithmetic) {
  const CallCheck check(backend, "smooth_scale");
  check.require(channels >= 0, "channels must be >= 0");
  check.array(a, channels, "a");
  check.array(w, channels, "w");
  check.array(s, channels, "s");
  check.require(alpha >= 0.0f && alpha <= 1.0f, "alpha " + std::to_string(alpha) + " is outside [0, 1]");
  check.dtype(arithmetic, "arithmetic", kFloat);
  check.recipe(recipe);
}

void validate_scale_columns(const char* backend, const MutMatrix& w, const float* s) {
  const CallCheck check(backend, "scale_columns");
  check.matrix(w, "w", kFloat);
  check.array(s, w.cols, "s");
}

void validate_divide_rows(const char* backend, const MutMatrix& w, const float* s) {
  const CallCheck check(backend, "divide_rows");
  check.matrix(w, "w", kFloat);
  check.array(s, w.rows, "s");
}

void validate_divide_vector(const char* backend, const MutVector& v, const float* s) {
  const CallCheck check(backend, "divide_vector");
  check.vector(ConstVector{v.data, v.dtype, v.size}, "v", kFloat);
  check.array(s, v.size, "s");
}

void validate_quantize_weight(const char* backend, const ConstMatrix& w, WeightQuant variant, const MutMatrix& q,
                              const float* scale) {
  const CallCheck check(backend, "quantize_weight");
  check.matrix(w, "w", kFloat);
  check.matrix(q, "q", kInt8);
  check.same_shape(w, q, "w", "q");
  check.array(scale, w.rows, "scale");
  check.require(variant == WeightQuant::lmdeploy || variant == WeightQuant::smoothquant ||
                    variant == WeightQuant::compressed_tensors,
                "unknown WeightQuant variant");
}

void validate_quantize_per_token(const char* backend, const ConstMatrix& x, const ActQuantOptions& o,
                                 const MutMatrix& q, const float* scale) {
  const CallCheck check(backend, "quantize_per_token");
  check.array(scale, x.rows, "scale");
  check.matrix(x, "x", kFloat);
  check.matrix(q, "q", kInt8);
  check.same_shape(x, q, "x", "q");
  check.act_quant_options(o);
}

void validate_quantize_per_tensor(const char* backend, const ConstMatrix& x, float scale, const ActQuantOptions& o,
                                  const MutMatrix& q) {
  const CallCheck check(backend, "quantize_per_tensor");
  check.require(!std::isnan(scale), "scale is NaN");
  check.matrix(x, "x", kFloat);
  check.matrix(q, "q", kInt8);
  check.same_shape(x, q, "x", "q");
  check.act_quant_options(o);
}

void validate_rmsnorm_quantize(const char* backend, const ConstMatrix& x, const ConstVector& norm_w, float eps,
                               const ActQuantOptions& o, const MutMatrix& q, const float* scale) {
  const CallCheck check(backend, "rmsnorm_quantize");
  check.matrix(x, "x", kFloat);
  check.vector(norm_w, "norm_w", kFloat);
  check.matrix(q, "q", kInt8);
  check.same_shape(x, q, "x", "q");
  check.array(scale, x.rows, "scale");
  check.require(norm_w.size == x.cols, "norm_w has " + std::to_string(norm_w.size) + " elements, x has " +
                                           std::to_string(x.cols) + " columns");
  check.require(std::isfinite(eps) && eps >= 0.0f, "eps must be finite and >= 0");
  check.act_quant_options(o);
}

void validate_gemm_s8s8s32(const char* backend, const ConstMatrix& a, const ConstMatrix& b, const MutMatrix& acc) {
  const CallCheck check(backend, "gemm_s8s8s32");
  check.gemm_operands(a, b);
  check.matrix(acc, "acc", kInt32);
  check.gemm_output(a, b, acc, "acc");
}

void validate_gemm_weight(const char* backend, const ConstMatrix& b) {
  const CallCheck check(backend, "pack_gemm_weight");
  check.matrix(b, "b", kInt8);
  check.require(b.cols < kGemmMaxK, "K = " + std::to_string(b.cols) + " >= " + std::to_string(kGemmMaxK) +
                                        ": int32 accumulators could overflow (numerics.md §7)");
}

void validate_gemm_w8a8(const char* backend, const ConstMatrix& a, const ConstMatrix& b, const float* scale_a,
                        const float* scale_b, const ConstVector& bias, Epilogue epilogue, const MutMatrix& out) {
  const CallCheck check(backend, "gemm_w8a8");
  check.gemm_operands(a, b);
  check.matrix(out, "out", kFloat);
  check.gemm_output(a, b, out, "out");
  check.array(scale_a, a.rows, "scale_a");
  check.array(scale_b, b.rows, "scale_b");
  check.require(epilogue == Epilogue::vllm || epilogue == Epilogue::lmdeploy, "unknown Epilogue");
  if (bias.data) {
    check.require(bias.dtype == out.dtype, std::string("bias dtype ") + to_string(bias.dtype) +
                                               " differs from out dtype " + to_string(out.dtype));
    check.require(bias.size == b.rows,
                  "bias has " + std::to_string(bias.size) + " elements, N = " + std::to_string(b.rows));
  }
}

}  // namespace smoothcheck::kernels
