#include "harness/pipeline/rederived_weights.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/differential/compare.h"
#include "harness/pipeline/rederived_weights_avx2.h"
#include "kernels/cpu/parallel_for.h"
#include "reference/reference.h"

namespace smoothcheck::pipeline {

namespace {

constexpr double kU32 = 0x1.0p-24;
// Few enough rows that a block's float64 matrices (the smoothed rows, and the reference's copy, quotients
// and codes of them) stay in a core's 1 MiB L2 at 4096 columns.
constexpr int64_t kRowsPerBlock = 4;
// Every this-many-th block the vectorised path confirms is re-derived by the reference as well
// (block 0 always): a cross-check at run time, at 1/64 of the reference's cost.
constexpr int64_t kReferenceSampleStride = 64;

}  // namespace

// The tolerances, from what the f32 pipeline does between the exact w·s/d and the stored numbers:
// k = 1 rounding per smoothed element (w·s in f32), k = 2 with a fused row divisor (then ÷ d). The
// row absmax of those rounded values is within k·u of the exact one and the scale's own division by
// 127 (127.5) adds 1u: (k + 1)·u. The code's unrounded value w_s/scale (or w_s·(127/absmax)) then
// carries k·u from w_s, (k + 1)·u from the scale and ≤ 2u from the quotient or the reciprocal and
// its product: (2k + 3)·u·|v|, the width around a midpoint where either neighbour is a correct code.
namespace {

struct BlockInputs {
  const FloatMatrix& original;
  const int8_t* codes;
  const float* scale;
  const std::vector<float>& s;
  const std::vector<float>* rowdiv;
  WeightQuant variant;
  DType arithmetic;
  bool stepwise;
  double code_eps;
  CodeRule rule;
};

// Rows [r0, r0 + n) re-derived and compared, as a serial scan of them would report them.
RederivedWeights rederive_block(const BlockInputs& in, int64_t r0, int64_t n) {
  const int64_t cols = in.original.cols;
  RederivedWeights out;
  reference::Matrix smoothed(n, cols);
  for (int64_t i = 0; i < n; ++i) {
    const double d = in.rowdiv ? static_cast<double>((*in.rowdiv)[r0 + i]) : 1.0;
    const float* w = in.original.data.data() + (r0 + i) * cols;
    for (int64_t j = 0; j < cols; ++j) {
      if (!in.stepwise) {
        smoothed.at(i, j) = static_cast<double>(w[j]) * in.s[j] / d;
        continue;
      }
      // The columns are multiplied first (norm -> fcs precedes the fc -> fc pair in every plan), then
      // the rows divided: each result stored in the model's dtype.
      double v = reference::round_to_dtype(static_cast<double>(w[j]) * in.s[j], in.arithmetic);
      if (in.rowdiv) v = reference::round_to_dtype(reference::round_to_dtype(v / d, DType::f32), in.arithmetic);
      smoothed.at(i, j) = v;
    }
  }
  const reference::Quantized ref = in.stepwise ? reference::quantize_weight_stepwise(smoothed, in.variant, in.arithmetic)
                                               : reference::quantize_weight(smoothed, in.variant);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = r0 + i;
    const double want = ref.scale[i];
    const double got = in.scale[r];
    double err_u = std::fabs(got - want) / (kU32 * std::fabs(want));
    if (want == 0) err_u = got == 0 ? 0.0 : INFINITY;
    if (!std::isfinite(got) || err_u != err_u) err_u = INFINITY;
    if (i == 0 || err_u > out.max_scale_error_u) {
      out.max_scale_error_u = err_u;
      out.worst_scale_row = r;
      out.worst_scale_stored = got;
      out.worst_scale_recipe = want;
    }
    for (int64_t j = 0; j < cols; ++j) {
      ++out.codes;
      const int stored = in.codes[r * cols + j];
      const int recipe = static_cast<int>(ref.codes.at(i, j));
      if (stored == recipe) continue;
      // Either neighbour of a midpoint the arithmetic's error reaches is correct (compare_codes' rule).
      const double v = ref.scaled.at(i, j), eps = in.code_eps * std::fabs(v);
      if (stored == code_of(v - eps, in.rule) || stored == code_of(v + eps, in.rule)) {
        ++out.midpoint_codes;
        continue;
      }
      if (out.wrong_codes++ == 0) {
        out.first_wrong_row = r;
        out.first_wrong_col = j;
        out.first_wrong_stored = stored;
        out.first_wrong_recipe = recipe;
        out.first_wrong_value = v;
      }
    }
  }
  return out;
}

// Rows [r0, r0 + n) through the vectorised path: true when every stored scale and code is the recipe's.
bool block_matches_recipe(const BlockInputs& in, int64_t r0, int64_t n, float* work) {
  const int64_t cols = in.original.cols;
  for (int64_t r = r0; r < r0 + n; ++r)
    if (!row_matches_lmdeploy_recipe(in.original.data.data() + r * cols, in.s.data(), in.rowdiv != nullptr,
                                     in.rowdiv ? (*in.rowdiv)[r] : 1.0f, in.arithmetic, in.codes + r * cols,
                                     in.scale[r], cols, work))
      return false;
  return true;
}

// What rederive_block reports for rows that match the recipe exactly.
RederivedWeights confirmed_block(const BlockInputs& in, int64_t r0, int64_t n) {
  RederivedWeights out;
  out.worst_scale_row = r0;
  out.worst_scale_stored = out.worst_scale_recipe = in.scale[r0];
  out.codes = n * in.original.cols;
  out.rows_vectorized = n;
  return out;
}

// Appends a later block's result: the first row of the largest scale error and the first wrong code
// stay the earliest, as in one serial scan.
void merge_later_block(RederivedWeights& into, const RederivedWeights& later, bool first_block) {
  if (first_block || later.max_scale_error_u > into.max_scale_error_u) {
    into.max_scale_error_u = later.max_scale_error_u;
    into.worst_scale_row = later.worst_scale_row;
    into.worst_scale_stored = later.worst_scale_stored;
    into.worst_scale_recipe = later.worst_scale_recipe;
  }
  into.codes += later.codes;
  into.rows_vectorized += later.rows_vectorized;
  into.rows_by_reference += later.rows_by_reference;
  into.midpoint_codes += later.midpoint_codes;
  if (into.wrong_codes == 0 && later.wrong_codes > 0) {
    into.first_wrong_row = later.first_wrong_row;
    into.first_wrong_col = later.first_wrong_col;
    into.first_wrong_stored = later.first_wrong_stored;
    into.first_wrong_recipe = later.first_wrong_recipe;
    into.first_wrong_value = later.first_wrong_value;
  }
  into.wrong_codes += later.wrong_codes;
}

}  // namespace

RederivedWeights rederive_weights(const FloatMatrix& original, const at::Tensor& codes, const at::Tensor& scale,
                                  const std::vector<float>& s, const std::vector<float>* rowdiv, WeightQuant variant,
                                  DType arithmetic, double s_error_u, RederivationPath path,
                                  const std::function<void(int64_t first_row, int64_t rows)>& also_on_rows,
                                  const std::function<void(int64_t first_row, int64_t rows)>& before_rows) {
  const int64_t rows = original.rows, cols = original.cols;
  if (codes.numel() != rows * cols || scale.numel() != rows || static_cast<int64_t>(s.size()) != cols ||
      (rowdiv && static_cast<int64_t>(rowdiv->size()) != rows))
    throw std::logic_error("rederive_weights: operand sizes disagree with the original's [" + std::to_string(rows) +
                           ", " + std::to_string(cols) + "]");
  const at::Tensor q = codes.contiguous();
  const at::Tensor sc = scale.contiguous();
  const bool stepwise = arithmetic != DType::f32;
  const double k = (rowdiv ? 2.0 : 1.0) + s_error_u;
  const BlockInputs in{original,   q.data_ptr<int8_t>(), sc.data_ptr<float>(),        s,
                       rowdiv,     variant,              arithmetic,                  stepwise,
                       stepwise ? 0.0 : (2 * k + 3) * kU32, weight_code_rule(variant)};
  const bool vectorized = path == RederivationPath::vectorized_where_available &&
                          vectorized_rederivation_available(variant, arithmetic);
  // Rows are independent: blocks run on every core (the project's pool), each into its
  // own result, merged in row order.
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<RederivedWeights> per_block(static_cast<std::size_t>(blocks));
  kernels::cpu::parallel_for(blocks, 1, kernels::cpu::all_cores(),
                             [&](int64_t begin, int64_t end) {
    std::vector<float> work(static_cast<std::size_t>(vectorized ? cols : 0));
    for (int64_t b = begin; b < end; ++b) {
      const int64_t r0 = b * kRowsPerBlock, n = std::min(kRowsPerBlock, rows - r0);
      if (before_rows) before_rows(r0, n);
      const bool confirmed = vectorized && block_matches_recipe(in, r0, n, work.data());
      RederivedWeights& out = per_block[static_cast<std::size_t>(b)];
      if (also_on_rows) also_on_rows(r0, n);
      if (confirmed && b % kReferenceSampleStride != 0) {
        out = confirmed_block(in, r0, n);
        continue;
      }
      out = rederive_block(in, r0, n);
      out.rows_by_reference = n;
      // A sampled block the vectorised path confirmed must be one the reference finds exact too.
      if (confirmed && !(out.wrong_codes == 0 && out.max_scale_error_u == 0))
        throw std::logic_error("rederive_weights: the vectorised re-derivation confirmed rows " + std::to_string(r0) +
                               ".." + std::to_string(r0 + n - 1) + " that the reference does not (" +
                               std::to_string(out.wrong_codes) + " codes differ, scale " +
                               std::to_string(out.max_scale_error_u) + " u): a smoothcheck defect");
    }
  });
  RederivedWeights out;
  for (int64_t b = 0; b < blocks; ++b) merge_later_block(out, per_block[static_cast<std::size_t>(b)], b == 0);
  out.scale_tolerance_u = stepwise ? 0.0 : k + 1;
  return out;
}

}  // namespace smoothcheck::pipeline
