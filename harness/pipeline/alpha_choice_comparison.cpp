#include "harness/pipeline/alpha_choice_comparison.h"

#include <cstdio>
#include <set>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/models/llama.h"
#include "harness/pipeline/quantize_export.h"
#include "harness/pipeline/smoothing_units.h"
#include "harness/pipeline/token_sampling.h"

namespace smoothcheck::pipeline {

namespace {

nlohmann::json figures_json(const LogitComparison& c) {
  return {{"nll_increase", c.nll_increase()},     {"mean_token_kl", c.mean_token_kl},
          {"max_token_kl", c.max_token_kl},       {"argmax_agreement", c.argmax_agreement},
          {"max_abs_logit_delta", c.max_abs_logit_delta}};
}

}  // namespace

AlphaChoiceComparison compare_alpha_choices(kernels::Backend& backend, const ModelFamily& family,
                                            const std::filesystem::path& model, const std::filesystem::path& stats,
                                            const SweepResult& sweep, const std::filesystem::path& scratch,
                                            int64_t heldout_tokens, uint64_t heldout_seed) {
  c10::InferenceMode guard;
  AlphaChoiceComparison out;
  std::filesystem::create_directories(scratch);
  {
    const models::LlamaModel sampler(family.checkpoint(), checkpoint::llama_config(family.dir()), DType::f32);
    SamplingOptions so;
    so.length = heldout_tokens;
    so.seed = heldout_seed;
    out.heldout = sample_sequences(sampler, so).front();
  }
  const at::Tensor tokens = at::tensor(out.heldout, at::kLong);
  const at::Tensor reference = family.forward(tokens).to(at::kFloat);
  std::set<std::string> all;
  for (const QuantizedLinear& l : family.linears()) all.insert(l.name);

  std::map<std::string, float> per_group, per_layer;
  for (const GroupSweep& g : sweep.groups) {
    per_group[g.group.source] = g.best_alpha;
    per_layer[g.group.source] = sweep.best_per_layer.at(layer_of(g.group.fcs.front()));
  }
  char global[32];
  std::snprintf(global, sizeof global, "global %.2f", sweep.best_global);
  struct Choice {
    std::string name;
    std::map<std::string, float> group_alphas;
    float alpha;
    bool smooth;
  };
  const std::vector<Choice> choices = {{"per group", per_group, 0.5f, true},
                                       {"per layer", per_layer, 0.5f, true},
                                       {global, {}, sweep.best_global, true},
                                       {"0.5", {}, 0.5f, true},
                                       {"unsmoothed", {}, 0.5f, false}};
  for (std::size_t i = 0; i < choices.size(); ++i) {
    const Choice& c = choices[i];
    QuantizeOptions q = options_for_engine(sweep.engine.engine);
    q.model = model;
    q.stats = stats;
    q.out = scratch / ("choice-" + std::to_string(i));
    q.force = true;
    q.alpha = c.alpha;
    q.group_alphas = c.group_alphas;
    q.smooth = c.smooth;
    quantize_and_export(backend, q);
    const checkpoint::ModelDir exported = checkpoint::open_model_dir(q.out);
    const QuantizationConfig qc = require_export_quantization_config(exported.dir, exported.config_json);
    out.choices.push_back(
        {c.name, compare_logits(reference, family.partly_quantized_forward(*exported.checkpoint, qc, backend, all, tokens),
                                out.heldout)});
    if (c.name == global) out.sensitivity = linear_sensitivity(family, *exported.checkpoint, qc, backend, out.heldout);
  }
  return out;
}

nlohmann::json to_json(const AlphaChoiceComparison& c) {
  nlohmann::json choices = nlohmann::json::object();
  for (const ChoiceFigures& f : c.choices) choices[f.choice] = figures_json(f.figures);
  nlohmann::json sensitivity = nlohmann::json::array();
  for (const LinearSensitivity& s : c.sensitivity)
    sensitivity.push_back({{"linear", s.name}, {"alone", figures_json(s.alone)}, {"all_but", figures_json(s.all_but)}});
  return {{"heldout_tokens", c.heldout.size()}, {"choices", choices}, {"sensitivity", sensitivity}};
}

}  // namespace smoothcheck::pipeline
