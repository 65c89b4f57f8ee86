#include "harness/pipeline/alpha_choice_comparison.h"

#include <cstdio>
#include <set>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/quantize_export.h"
#include "harness/pipeline/smoothing_units.h"

namespace smoothcheck::pipeline {

AlphaChoiceComparison compare_alpha_choices(kernels::Backend& backend, const ModelFamily& family,
                                            const std::filesystem::path& model, const std::filesystem::path& stats,
                                            const SweepResult& sweep, const std::filesystem::path& scratch,
                                            const HeldOutOptions& heldout) {
  c10::InferenceMode guard;
  const HeldOutJudge judge(family, family.heldout_sequences(heldout));
  AlphaChoiceComparison out;
  out.measure = judge.measure();
  out.heldout_sequences = static_cast<int64_t>(judge.sequences().size());
  out.heldout_tokens = judge.tokens();
  std::filesystem::create_directories(scratch);
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
    q.mode = sweep.mode;
    q.alpha = c.alpha;
    q.group_alphas = c.group_alphas;
    q.smooth = c.smooth;
    quantize_and_export(backend, q);
    const checkpoint::ModelDir exported = checkpoint::open_model_dir(q.out);
    const QuantizationConfig qc = require_export_quantization_config(exported.dir, exported.config_json);
    out.choices.push_back({c.name, judge.judge(family.partly_quantized_model(*exported.checkpoint, qc, backend, all))});
    if (c.name == global) out.sensitivity = linear_sensitivity(family, *exported.checkpoint, qc, backend, judge);
  }
  return out;
}

nlohmann::json to_json(const AlphaChoiceComparison& c) {
  nlohmann::json choices = nlohmann::json::object();
  for (const ChoiceFigures& f : c.choices) choices[f.choice] = to_json(f.figures);
  return {{"measure", c.measure == ForwardComparison::logits ? "logits" : "sentence_embeddings"},
          {"loss", loss_name(c.measure)},
          {"heldout_sequences", c.heldout_sequences},
          {"heldout_tokens", c.heldout_tokens},
          {"choices", choices},
          {"sensitivity", to_json(c.sensitivity)}};
}

}  // namespace smoothcheck::pipeline
