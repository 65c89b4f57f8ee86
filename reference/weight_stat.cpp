// numerics.md §2: the per-input-channel weight statistic w_j of the fcs that read one smoothed input,
// taken over their rows concatenated (torch.cat(dim=0) in every implementation).
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {
namespace {

using internal::require;

at::Tensor concatenate_rows(const std::vector<Matrix>& fcs) {
  require(!fcs.empty(), "weight_stat: no fc reads this input");
  std::vector<at::Tensor> parts;
  for (const Matrix& fc : fcs) {
    internal::require_nonempty(fc, "weight_stat");
    require(fc.cols == fcs.front().cols, "weight_stat: fcs disagree on in_features (" + std::to_string(fc.cols) +
                                             " vs " + std::to_string(fcs.front().cols) + ")");
    parts.push_back(internal::view_of(fc));
  }
  return at::cat(parts, 0);  // a fresh tensor, [sum of O_i, C]
}

// lmdeploy get_weight_scale: |W| divided by the absmax of its row (of its group of group_size
// consecutive elements when group_size > 0), averaged over rows. The 1e-4 clamp is all or nothing, as in
// lmdeploy 0.18.0 lite/quantization/awq.py get_weight_scale (lines 150-153): every row (group) absmax
// is clamped to 1e-4 only when the smallest of them is exactly 0 (`if abs_weight_amax.min().item() ==
// 0`), so that a zero row gives 0, not 0/0; otherwise no absmax is clamped, however small.
at::Tensor lmdeploy_normalised_mean(const at::Tensor& w, int64_t group_size) {
  const int64_t columns = w.size(1);
  at::Tensor abs = w.abs();
  if (group_size > 0) {
    // lmdeploy's view(-1, group_size); requiring whole groups per row keeps a group inside one row,
    // as lmdeploy's weight quantiser asserts.
    require(columns % group_size == 0, "weight_stat: in_features " + std::to_string(columns) +
                                           " is not a multiple of group_size " + std::to_string(group_size));
    abs = abs.reshape({-1, group_size});
  }
  at::Tensor row_absmax = abs.amax(1, /*keepdim=*/true);
  // min() propagates NaN as torch's does, and NaN == 0 is false: no clamp then, as upstream.
  if (row_absmax.min().item<double>() == 0.0) row_absmax = row_absmax.clamp_min(1e-4);
  return (abs / row_absmax).reshape({-1, columns}).mean(0);
}

}  // namespace

Vector weight_stat(const std::vector<Matrix>& fcs, Recipe recipe, int64_t group_size) {
  const at::Tensor w = concatenate_rows(fcs);
  // group_size only shapes lmdeploy's statistic; the other recipes take whole columns.
  switch (recipe) {
    // SmoothQuant authors (smooth_ln_fcs): column absmax, clamped to 1e-5.
    case Recipe::smoothquant: return internal::vector_from(w.abs().amax(0).clamp_min(1e-5));
    case Recipe::lmdeploy: return internal::vector_from(lmdeploy_normalised_mean(w, group_size));
    // llm-compressor SmoothQuantModifier: twice the column absmax, no clamp (smooth_scale handles 0).
    case Recipe::llmcompressor: return internal::vector_from(w.abs().amax(0) * 2.0);
  }
  require(false, "weight_stat: unknown Recipe");
  return {};
}

}  // namespace smoothcheck::reference
