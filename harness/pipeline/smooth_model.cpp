#include "harness/pipeline/smooth_model.h"

#include <cmath>
#include <stdexcept>

#include "harness/checked_ops.h"
#include "harness/pipeline/dtype_rounding.h"
#include "kernels/numerics.h"

namespace smoothcheck::pipeline {

DType smoothing_dtype(SmoothingArithmetic a, DType model) {
  return a == SmoothingArithmetic::model_dtype && (model == DType::bf16 || model == DType::f16) ? model : DType::f32;
}

namespace {

using checked::FloatSpan;
using checked::MutFloatSpan;

FloatSpan span(const std::vector<float>& v) { return {v.data(), static_cast<int64_t>(v.size())}; }

// Each value rounded to `t` (nothing to do for f32): the in-place operations of the public tools
// store every result in the model's dtype.
void round_to(std::vector<float>& v, DType t) { round_each_to(v.data(), v.size(), t); }

// numerics.md §1/§3: the paper and lmdeploy smooth by absmax, llm-compressor by the range max - min,
// in the arithmetic dtype: lmdeploy and the authors cast act_scales to it, llm-compressor's observer
// keeps min and max in the activations' (the model's) dtype and subtracts there.
std::vector<float> activation_statistic(const LinearStats& s, Recipe recipe, DType t) {
  if (recipe != Recipe::llmcompressor) {
    std::vector<float> a = s.absmax;
    round_to(a, t);
    return a;
  }
  std::vector<float> r(s.max.size());
  for (std::size_t j = 0; j < r.size(); ++j)
    r[j] = numerics::round_to(numerics::round_to(s.max[j], t) - numerics::round_to(s.min[j], t), t);
  return r;
}

}  // namespace

SmoothingResult smooth_groups(kernels::Backend& backend, const std::vector<SmoothingGroup>& groups,
                              const CalibrationStats& stats, const SmoothingOptions& o, FloatWeights& weights) {
  SmoothingResult result;
  for (const SmoothingGroup& g : groups) {
    std::vector<FloatMatrix*> fcs;
    std::vector<kernels::ConstMatrix> views;
    for (const std::string& fc : g.fcs) {
      fcs.push_back(&weights.linears.at(fc));
      views.push_back(fcs.back()->view().as_const());
    }
    const std::string& first = g.fcs.front();
    const int64_t C = fcs.front()->cols;
    // q/k/v (gate/up) read one input: its statistics are stored per linear as equal copies; the
    // group's first fc speaks for the group, as lmdeploy takes the first fc's activation scales.
    const std::vector<float> a = activation_statistic(stats.linears.at(first), o.recipe, o.arithmetic);

    std::vector<float> w(static_cast<std::size_t>(C));
    backend.weight_stat(views.data(), static_cast<int>(views.size()), o.recipe, /*group_size=*/0, w.data(), o.arithmetic);
    for (int64_t j = 0; j < C; ++j)
      if (!std::isfinite(w[j]) || !(w[j] > 0))
        throw std::invalid_argument("smoothing " + first + ": weight statistic of input channel " +
                                    std::to_string(j) + " is " + std::to_string(w[j]) +
                                    " (a column of zeros in every fc of the group?)");

    // lmdeploy normalises s over the channels whose norm weight is non-zero; an fc source has no norm.
    const std::vector<float>* norm = g.kind == SourceKind::norm ? &weights.norms.at(g.source) : nullptr;
    std::vector<float> s(static_cast<std::size_t>(C));
    const auto own = o.group_alphas.find(g.source);
    const float alpha = own == o.group_alphas.end() ? o.alpha : own->second;
    checked::smooth_scale(backend, span(a), span(w), norm ? span(*norm) : FloatSpan{}, o.recipe, alpha,
                          MutFloatSpan{s.data(), C}, o.arithmetic);

    // The f32 kernels on values of the arithmetic dtype, each result then rounded to it: a product of
    // two bf16 (f16) values is exact in f32, and a quotient rounded to f32 and then to the dtype is what
    // torch's in-place operations on bf16/f16 tensors compute.
    for (FloatMatrix* fc : fcs) {
      checked::scale_columns(backend, fc->view(), span(s));
      round_to(fc->data, o.arithmetic);
    }
    if (o.mode == SmoothMode::fused) {
      if (g.kind == SourceKind::norm) {
        std::vector<float>& nw = weights.norms.at(g.source);
        backend.divide_vector(kernels::MutVector{nw.data(), DType::f32, C}, s.data());
        round_to(nw, o.arithmetic);
      } else {
        FloatMatrix& prev = weights.linears.at(g.source);
        checked::divide_rows(backend, prev.view(), span(s));
        round_to(prev.data, o.arithmetic);
        result.rows_divided_by[g.source] = first;
      }
    }
    for (const std::string& fc : g.fcs) result.migration_scales[fc] = s;
  }
  // Linears of no group (o_proj in fused mode under GQA) are not smoothed: s = 1.
  for (const auto& [name, m] : weights.linears)
    if (!result.migration_scales.count(name)) result.migration_scales[name] = std::vector<float>(m.cols, 1.0f);
  return result;
}

}  // namespace smoothcheck::pipeline
