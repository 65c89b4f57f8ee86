// numerics.md §7: the W8A8 GEMM's dequantising epilogue, from the exact accumulators.
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {

using internal::require;

GemmOutput gemm_w8a8(const Matrix& acc, const Vector& scale_a, const Vector& scale_b, const Vector& bias,
                     Epilogue epilogue, DType out_dtype) {
  internal::require_nonempty(acc, "gemm_w8a8");
  require(static_cast<int64_t>(scale_a.size()) == acc.rows,
          "gemm_w8a8: scale_a has " + std::to_string(scale_a.size()) + " entries, acc has " +
              std::to_string(acc.rows) + " rows");
  require(static_cast<int64_t>(scale_b.size()) == acc.cols,
          "gemm_w8a8: scale_b has " + std::to_string(scale_b.size()) + " entries, acc has " +
              std::to_string(acc.cols) + " columns");
  require(bias.empty() || static_cast<int64_t>(bias.size()) == acc.cols,
          "gemm_w8a8: bias has " + std::to_string(bias.size()) + " entries, acc has " + std::to_string(acc.cols) +
              " columns");
  require(out_dtype == DType::f32 || out_dtype == DType::f16 || out_dtype == DType::bf16,
          std::string("gemm_w8a8: out_dtype ") + to_string(out_dtype) + " is not f32, f16 or bf16");

  const at::Tensor sa = internal::view_of(scale_a).unsqueeze(1);  // [M, 1]
  const at::Tensor sb = internal::view_of(scale_b).unsqueeze(0);  // [1, N]
  // sa * (sb * acc), vLLM's order. In float64 this is within a few ulps of the exact value, far below
  // any output dtype's rounding: `exact` is the ideal every epilogue is measured against.
  const at::Tensor product = sa * (sb * internal::view_of(acc));
  const at::Tensor bias_row = bias.empty() ? at::zeros({1, acc.cols}, at::kDouble) : internal::view_of(bias).unsqueeze(0);

  GemmOutput out;
  out.exact = internal::matrix_from(product + bias_row);
  out.rounded = Matrix(acc.rows, acc.cols);
  switch (epilogue) {
    // vLLM (cutlass_scaled_mm, ScaledEpilogueBias in csrc/cutlass_extensions/epilogue/
    // scaled_mm_epilogues_c3x.hpp): float(acc); Compute0 = scale_b * float(acc), an f32 product;
    // Compute1 = multiply_add(scale_a, Compute0, bias), one FFMA: the product plus the bias rounded once
    // to f32; then the store to the output dtype. Each step here is that f32 operation, correctly rounded
    // from the exact operands, so `rounded` is the kernel's value bit for bit. The scales and the bias
    // are taken as the f32 (bias: output-dtype) values a kernel receives: rounding them is the identity
    // for the values the case tables pass. Without a bias (ScaledEpilogue) the last step is the f32
    // product scale_a * Compute0.
    case Epilogue::vllm:
      for (int64_t m = 0; m < acc.rows; ++m) {
        const double sa32 = round_to_dtype(scale_a[std::size_t(m)], DType::f32);
        for (int64_t n = 0; n < acc.cols; ++n) {
          const double acc32 = round_to_dtype(acc.at(m, n), DType::f32);
          const double sb_acc = internal::round_product_to_dtype(round_to_dtype(scale_b[std::size_t(n)], DType::f32),
                                                                 acc32, DType::f32);
          double d32;
          if (bias.empty()) {
            d32 = internal::round_product_to_dtype(sa32, sb_acc, DType::f32);
          } else {
            // sa32 * sb_acc is exact in float64 (two 24-bit significands); the sum is rounded once.
            const double b = round_to_dtype(bias[std::size_t(n)], out_dtype);
            d32 = internal::round_sum_to_dtype(sa32 * sb_acc, b, DType::f32);
          }
          out.rounded.at(m, n) = round_to_dtype(d32, out_dtype);  // f32 to the output dtype: exact for f32
        }
      }
      break;
    // lmdeploy: the dequantised product is stored in the output dtype, then the bias, itself in the
    // output dtype, is added in that dtype: two roundings.
    case Epilogue::lmdeploy: {
      const Matrix unbiased = internal::matrix_from(product);
      for (int64_t m = 0; m < acc.rows; ++m) {
        for (int64_t n = 0; n < acc.cols; ++n) {
          const double stored = round_to_dtype(unbiased.at(m, n), out_dtype);
          const double b = bias.empty() ? 0.0 : round_to_dtype(bias[std::size_t(n)], out_dtype);
          // stored + b is exact in float64 for f16 (every sum of two f16 values fits 53 bits), and for
          // bf16/f32 whenever the two exponents are within ~29 of each other.
          out.rounded.at(m, n) = round_to_dtype(stored + b, out_dtype);
        }
      }
      break;
    }
  }
  return out;
}

}  // namespace smoothcheck::reference
