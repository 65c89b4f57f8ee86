#include "harness/pipeline/smooth_model.h"

#include <cmath>
#include <stdexcept>

#include "harness/checked_ops.h"

namespace smoothcheck::pipeline {

BlockDims block_dims(const checkpoint::LlamaConfig& c) {
  BlockDims d;
  d.hidden = c.hidden_size;
  d.intermediate = c.intermediate_size;
  d.heads = c.num_attention_heads;
  d.kv_heads = c.num_key_value_heads;
  return d;
}

SmoothingPlan checked_llama_plan(const checkpoint::LlamaConfig& c, SmoothMode mode, bool fc_to_fc_pairs) {
  const BlockDims d = block_dims(c);
  SmoothingPlan plan = llama_smoothing_plan(d, mode);
  if (!fc_to_fc_pairs) plan = without_fc_to_fc_groups(std::move(plan));
  const PlanValidation v = validate_smoothing_plan(llama_block_graph(d), plan);
  if (!v.valid()) throw std::invalid_argument("the LLaMA smoothing plan is not exact:\n" + v.message());
  return plan;
}

namespace {

using checked::FloatSpan;
using checked::MutFloatSpan;

FloatSpan span(const std::vector<float>& v) { return {v.data(), static_cast<int64_t>(v.size())}; }

// numerics.md §1/§3: the paper and lmdeploy smooth by absmax, llm-compressor by the range max - min.
std::vector<float> activation_statistic(const LinearStats& s, Recipe recipe) {
  if (recipe != Recipe::llmcompressor) return s.absmax;
  std::vector<float> r(s.max.size());
  for (std::size_t j = 0; j < r.size(); ++j) r[j] = s.max[j] - s.min[j];
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
    const std::vector<float> a = activation_statistic(stats.linears.at(first), o.recipe);

    std::vector<float> w(static_cast<std::size_t>(C));
    backend.weight_stat(views.data(), static_cast<int>(views.size()), o.recipe, /*group_size=*/0, w.data());
    for (int64_t j = 0; j < C; ++j)
      if (!std::isfinite(w[j]) || !(w[j] > 0))
        throw std::invalid_argument("smoothing " + first + ": weight statistic of input channel " +
                                    std::to_string(j) + " is " + std::to_string(w[j]) +
                                    " (a column of zeros in every fc of the group?)");

    // lmdeploy normalises s over the channels whose norm weight is non-zero; an fc source has no norm.
    const std::vector<float>* norm = g.kind == SourceKind::norm ? &weights.norms.at(g.source) : nullptr;
    std::vector<float> s(static_cast<std::size_t>(C));
    checked::smooth_scale(backend, span(a), span(w), norm ? span(*norm) : FloatSpan{}, o.recipe, o.alpha,
                          MutFloatSpan{s.data(), C});

    for (FloatMatrix* fc : fcs) checked::scale_columns(backend, fc->view(), span(s));
    if (o.mode == SmoothMode::fused) {
      if (g.kind == SourceKind::norm) {
        std::vector<float>& nw = weights.norms.at(g.source);
        backend.divide_vector(kernels::MutVector{nw.data(), DType::f32, C}, s.data());
      } else {
        checked::divide_rows(backend, weights.linears.at(g.source).view(), span(s));
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

std::vector<SmoothingGroup> llama_model_groups(const checkpoint::LlamaConfig& config, const SmoothingPlan& plan) {
  std::vector<SmoothingGroup> groups;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = layer_prefix(l);
    for (const SmoothingGroup& g : plan.groups) {
      SmoothingGroup full{p + g.source, g.kind, {}};
      for (const std::string& fc : g.fcs) full.fcs.push_back(p + fc);
      groups.push_back(std::move(full));
    }
  }
  return groups;
}

SmoothingResult smooth_model(kernels::Backend& backend, const checkpoint::LlamaConfig& config,
                             const CalibrationStats& stats, const SmoothingOptions& o, FloatWeights& weights) {
  const SmoothingPlan plan = checked_llama_plan(config, o.mode, o.fc_to_fc_pairs);
  SmoothingResult result = smooth_groups(backend, llama_model_groups(config, plan), stats, o, weights);
  result.plan = plan;
  return result;
}

}  // namespace smoothcheck::pipeline
