#include "harness/checked_ops.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

#include "kernels/argument_contract.h"
#include "kernels/cpu/parallel_for.h"
#include "kernels/numerics.h"

namespace smoothcheck::checked {
namespace {

using kernels::ConstMatrix;
using kernels::MutMatrix;

[[noreturn]] void refuse(const char* op, const std::string& tensor, const std::string& problem) {
  throw std::invalid_argument(std::string(op) + ": " + tensor + " " + problem);
}

std::string shape(const ConstMatrix& m) {
  return "[" + std::to_string(m.rows) + ", " + std::to_string(m.cols) + "]";
}

double element(const ConstMatrix& m, int64_t r, int64_t c) {
  const auto* base = static_cast<const uint8_t*>(m.data) + std::size_t(r * m.row_stride + c) * dtype_size(m.dtype);
  switch (m.dtype) {
    case DType::f64: { double v; std::memcpy(&v, base, 8); return v; }
    case DType::f32: { float v; std::memcpy(&v, base, 4); return v; }
    case DType::f16: { uint16_t v; std::memcpy(&v, base, 2); return numerics::f16_to_float(v); }
    case DType::bf16: { uint16_t v; std::memcpy(&v, base, 2); return numerics::bf16_to_float(v); }
    case DType::i8: return double(*reinterpret_cast<const int8_t*>(base));
    case DType::i32: { int32_t v; std::memcpy(&v, base, 4); return v; }
  }
  return 0.0;
}

// Non-empty, a known layout, a data pointer.
void require_matrix(const char* op, const char* tensor, const ConstMatrix& m) {
  if (m.rows <= 0 || m.cols <= 0) refuse(op, tensor, "is " + shape(m) + ": empty (zero-length dimension)");
  if (m.row_stride < m.cols) refuse(op, tensor, "has row_stride " + std::to_string(m.row_stride) + " < cols");
  if (!m.data) refuse(op, tensor, "has no data");
}

// Whether an f32 row holds no Inf or NaN (exponent bits all ones), in a form the compiler vectorises:
// the pipeline checks every weight of a model several times, which the per-element accessor made the
// largest cost of `smoothcheck quantize` on a 1.1B model. Rows it flags are rescanned element by
// element for the message.
bool f32_row_finite(const ConstMatrix& m, int64_t r) {
  const auto* p = static_cast<const uint8_t*>(m.data) + std::size_t(r * m.row_stride) * sizeof(float);
  uint32_t bad = 0;
  for (int64_t c = 0; c < m.cols; ++c) {
    uint32_t bits;
    std::memcpy(&bits, p + std::size_t(c) * sizeof(float), sizeof bits);
    bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

// The same for f16 and bf16 rows (exponent bits 0x7c00 and 0x7f80): a 1.1B model's weights are half
// precision, and quantize checks each of them as a kernel input.
bool half_row_finite(const ConstMatrix& m, int64_t r, uint16_t exponent) {
  const auto* p = static_cast<const uint8_t*>(m.data) + std::size_t(r * m.row_stride) * sizeof(uint16_t);
  uint32_t bad = 0;
  for (int64_t c = 0; c < m.cols; ++c) {
    uint16_t bits;
    std::memcpy(&bits, p + std::size_t(c) * sizeof(uint16_t), sizeof bits);
    bad |= static_cast<uint32_t>((bits & exponent) == exponent);
  }
  return bad == 0;
}

// Whether row r is known finite by a bit test (f32, f16, bf16); false means "scan it element by element".
bool row_finite_by_bits(const ConstMatrix& m, int64_t r) {
  switch (m.dtype) {
    case DType::f32: return f32_row_finite(m, r);
    case DType::f16: return half_row_finite(m, r, 0x7c00);
    case DType::bf16: return half_row_finite(m, r, 0x7f80);
    default: return false;
  }
}

// The first row the bit test does not clear (m.rows when it clears them all), the rows tested on every
// core: quantize checks each weight of a 1.1B model as a kernel input and output, and this scan was its
// largest single-threaded step. The rows from there on are scanned one by one for the message.
int64_t first_row_to_scan(const ConstMatrix& m) {
  const int threads = kernels::cpu::all_cores();
  std::atomic<int64_t> first{m.rows};
  kernels::cpu::parallel_for(m.rows, kernels::cpu::grain_for_bytes(m.cols * int64_t(dtype_size(m.dtype))), threads,
                             [&](int64_t begin, int64_t end) {
                               for (int64_t r = begin; r < end && r < first.load(); ++r)
                                 if (!row_finite_by_bits(m, r)) {
                                   int64_t seen = first.load();
                                   while (r < seen && !first.compare_exchange_weak(seen, r)) {
                                   }
                                   return;
                                 }
                             });
  return first.load();
}

void require_finite(const char* op, const char* tensor, const ConstMatrix& m) {
  if (m.dtype == DType::i8 || m.dtype == DType::i32) return;
  for (int64_t r = first_row_to_scan(m); r < m.rows; ++r)
    for (int64_t c = row_finite_by_bits(m, r) ? m.cols : 0; c < m.cols; ++c) {
      const double v = element(m, r, c);
      if (!std::isfinite(v)) {
        std::ostringstream os;
        os << shape(m) << " " << to_string(m.dtype) << " has a non-finite value (" << v << ") at [" << r << ", " << c
           << "]";
        refuse(op, tensor, os.str());
      }
    }
}

void require_dtype(const char* op, const char* tensor, const ConstMatrix& m, DType want) {
  if (m.dtype != want)
    refuse(op, tensor, std::string("has dtype ") + to_string(m.dtype) + ", expected " + to_string(want));
}

void require_length(const char* op, const char* tensor, int64_t size, int64_t expected, const std::string& why) {
  if (size != expected)
    refuse(op, tensor, "has " + std::to_string(size) + " elements but " + why + " needs " + std::to_string(expected));
}

void require_data(const char* op, const char* tensor, const void* data, int64_t size) {
  if (size > 0 && !data) refuse(op, tensor, "has no data");
}

// lower: the smallest allowed value; strict: whether it is excluded.
void require_values(const char* op, const char* tensor, FloatSpan v, double lower, bool strict) {
  require_data(op, tensor, v.data, v.size);
  for (int64_t j = 0; j < v.size; ++j) {
    const float x = v.data[j];
    if (!std::isfinite(x)) refuse(op, tensor, "has a non-finite value (" + std::to_string(x) + ") at [" + std::to_string(j) + "]");
    if (strict ? !(x > lower) : !(x >= lower))
      refuse(op, tensor, "[" + std::to_string(j) + "] = " + std::to_string(x) + " must be " + (strict ? "> " : ">= ") +
                             std::to_string(lower));
  }
}

// What no kernel may hand on silently.
void require_finite_output(const char* op, const char* tensor, const ConstMatrix& m) {
  for (int64_t r = first_row_to_scan(m); r < m.rows; ++r)
    for (int64_t c = row_finite_by_bits(m, r) ? m.cols : 0; c < m.cols; ++c)
      if (!std::isfinite(element(m, r, c)))
        throw std::range_error(std::string(op) + ": output " + tensor + " has a non-finite value at [" +
                               std::to_string(r) + ", " + std::to_string(c) + "] (e.g. overflow of " +
                               to_string(m.dtype) + ")");
}
void require_finite_output(const char* op, const char* tensor, const float* v, int64_t n) {
  require_finite_output(op, tensor, ConstMatrix{v, DType::f32, 1, n, n});
}

}  // namespace

void channel_stats(kernels::Backend& b, ConstMatrix x, kernels::ChannelStatsOut out, int64_t out_size) {
  const char* op = "channel_stats";
  require_matrix(op, "x", x);
  require_finite(op, "x", x);
  require_length(op, "statistics", out_size, x.cols, "x's channel count");
  b.channel_stats(x, out);
  for (float* p : {out.absmax, out.min, out.max, out.sum, out.abssum})
    if (p) require_finite_output(op, "statistics", p, x.cols);
}

void smooth_scale(kernels::Backend& b, FloatSpan a, FloatSpan w, FloatSpan norm_weight, Recipe recipe, float alpha,
                  MutFloatSpan s, DType arithmetic) {
  const char* op = "smooth_scale";
  if (a.size <= 0) refuse(op, "a", "is empty (zero channels)");
  require_values(op, "a (activation statistic)", a, 0.0, false);
  require_length(op, "w (weight statistic)", w.size, a.size, "a");
  // A zero weight statistic would divide by w^(1-α) = 0 for the paper's recipe (lmdeploy and
  // llm-compressor patch it); a column of zeros is a broken weight, refused here.
  require_values(op, "w (weight statistic)", w, 0.0, true);
  if (norm_weight.size != 0) {
    require_length(op, "norm_weight", norm_weight.size, a.size, "a");
    require_data(op, "norm_weight", norm_weight.data, norm_weight.size);
    for (int64_t j = 0; j < norm_weight.size; ++j)
      if (!std::isfinite(norm_weight.data[j])) refuse(op, "norm_weight", "has a non-finite value at [" + std::to_string(j) + "]");
  }
  if (!(alpha >= 0.0f && alpha <= 1.0f)) refuse(op, "alpha", "= " + std::to_string(alpha) + " is outside [0, 1]");
  require_length(op, "s", s.size, a.size, "a");
  require_data(op, "s", s.data, s.size);
  if (!kernels::is_float_dtype(arithmetic))
    refuse(op, "arithmetic", std::string("is ") + to_string(arithmetic) + ", not f32, f16 or bf16");
  b.smooth_scale(a.data, w.data, norm_weight.size ? norm_weight.data : nullptr, a.size, recipe, alpha, s.data, arithmetic);
  require_finite_output(op, "s", s.data, s.size);
  for (int64_t j = 0; j < s.size; ++j)
    if (!(s.data[j] > 0.0f))
      throw std::range_error("smooth_scale: output s[" + std::to_string(j) + "] = " + std::to_string(s.data[j]) +
                             " is not > 0 (underflow)");
}

void scale_columns(kernels::Backend& b, MutMatrix w, FloatSpan s) {
  const char* op = "scale_columns";
  require_matrix(op, "w", w.as_const());
  require_finite(op, "w", w.as_const());
  require_length(op, "s", s.size, w.cols, "w's column count");
  require_values(op, "s", s, 0.0, true);
  b.scale_columns(w, s.data);
  require_finite_output(op, "w", w.as_const());
}

void divide_rows(kernels::Backend& b, MutMatrix w, FloatSpan s) {
  const char* op = "divide_rows";
  require_matrix(op, "w", w.as_const());
  require_finite(op, "w", w.as_const());
  require_length(op, "s", s.size, w.rows, "w's row count");
  require_values(op, "s", s, 0.0, true);
  b.divide_rows(w, s.data);
  require_finite_output(op, "w", w.as_const());
}

void quantize_weight(kernels::Backend& b, ConstMatrix w, WeightQuant variant, MutMatrix q, MutFloatSpan scale) {
  const char* op = "quantize_weight";
  require_matrix(op, "w", w);
  require_finite(op, "w", w);
  require_dtype(op, "q", q.as_const(), DType::i8);
  if (q.rows != w.rows || q.cols != w.cols) refuse(op, "q", "is " + shape(q.as_const()) + " but w is " + shape(w));
  require_length(op, "scale", scale.size, w.rows, "w's row count");
  require_data(op, "scale", scale.data, scale.size);
  b.quantize_weight(w, variant, q, scale.data);
  require_finite_output(op, "scale", scale.data, scale.size);
}

void quantize_per_token(kernels::Backend& b, ConstMatrix x, FloatSpan migration_scale, const ActQuantOptions& o,
                        MutMatrix q, MutFloatSpan scale) {
  const char* op = "quantize_per_token";
  require_matrix(op, "x", x);
  require_finite(op, "x", x);
  if (migration_scale.size != 0) {
    require_length(op, "migration_scale", migration_scale.size, x.cols, "x's channel count");
    require_values(op, "migration_scale", migration_scale, 0.0, true);
  }
  require_dtype(op, "q", q.as_const(), DType::i8);
  if (q.rows != x.rows || q.cols != x.cols) refuse(op, "q", "is " + shape(q.as_const()) + " but x is " + shape(x));
  require_length(op, "scale", scale.size, x.rows, "x's token count");
  require_data(op, "scale", scale.data, scale.size);
  if (o.zero_row == ZeroRow::floor && !(std::isfinite(o.absmax_floor) && o.absmax_floor >= 0.0f))
    refuse(op, "options", "absmax_floor must be finite and >= 0");
  b.quantize_per_token(x, migration_scale.size ? migration_scale.data : nullptr, o, q, scale.data);
  require_finite_output(op, "scale", scale.data, scale.size);
}

void gemm_s8s8s32(kernels::Backend& backend, ConstMatrix a, ConstMatrix b, MutMatrix acc) {
  const char* op = "gemm_s8s8s32";
  require_matrix(op, "a", a);
  require_matrix(op, "b", b);
  require_dtype(op, "a", a, DType::i8);
  require_dtype(op, "b", b, DType::i8);
  if (a.cols != b.cols) refuse(op, "b", "is " + shape(b) + " but a is " + shape(a) + ": K differs");
  // numerics.md §7: exact in int32 while K · 128 · 128 < 2^31.
  if (a.cols >= 131072) refuse(op, "a", "has K = " + std::to_string(a.cols) + ": the int32 accumulator may overflow");
  require_dtype(op, "acc", acc.as_const(), DType::i32);
  if (acc.rows != a.rows || acc.cols != b.rows)
    refuse(op, "acc", "is " + shape(acc.as_const()) + " but a·bᵀ is [" + std::to_string(a.rows) + ", " +
                          std::to_string(b.rows) + "]");
  backend.gemm_s8s8s32(a, b, acc);
}

void gemm_w8a8(kernels::Backend& backend, ConstMatrix a, ConstMatrix b, FloatSpan scale_a, FloatSpan scale_b,
               kernels::ConstVector bias, Epilogue epilogue, MutMatrix out) {
  const char* op = "gemm_w8a8";
  require_matrix(op, "a", a);
  require_matrix(op, "b", b);
  require_dtype(op, "a", a, DType::i8);
  require_dtype(op, "b", b, DType::i8);
  if (a.cols != b.cols) refuse(op, "b", "is " + shape(b) + " but a is " + shape(a) + ": K differs");
  if (a.cols >= 131072) refuse(op, "a", "has K = " + std::to_string(a.cols) + ": the int32 accumulator may overflow");
  require_length(op, "scale_a", scale_a.size, a.rows, "a's row count");
  require_values(op, "scale_a", scale_a, 0.0, false);
  require_length(op, "scale_b", scale_b.size, b.rows, "b's row count");
  require_values(op, "scale_b", scale_b, 0.0, false);
  if (out.rows != a.rows || out.cols != b.rows)
    refuse(op, "out", "is " + shape(out.as_const()) + " but a·bᵀ is [" + std::to_string(a.rows) + ", " +
                          std::to_string(b.rows) + "]");
  if (bias.data) {
    require_length(op, "bias", bias.size, b.rows, "b's row count");
    if (bias.dtype != out.dtype)
      refuse(op, "bias", std::string("has dtype ") + to_string(bias.dtype) + " but out is " + to_string(out.dtype));
    require_finite(op, "bias", ConstMatrix{bias.data, bias.dtype, 1, bias.size, bias.size});
  }
  backend.gemm_w8a8(a, b, scale_a.data, scale_b.data, bias, epilogue, out);
  require_finite_output(op, "out", out.as_const());
}

}  // namespace smoothcheck::checked
