#include "harness/pipeline/linear_sensitivity.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/pipeline/smoothing_units.h"

namespace smoothcheck::pipeline {

namespace {

nlohmann::json to_json(const std::vector<Sensitivity>& ranked) {
  nlohmann::json out = nlohmann::json::array();
  for (const Sensitivity& s : ranked)
    out.push_back({{"name", s.name}, {"linears", s.linears}, {"alone", to_json(s.alone)}, {"all_but", to_json(s.all_but)}});
  return out;
}

}  // namespace

SensitivityRanking linear_sensitivity(const ModelFamily& original, const checkpoint::Checkpoint& exported,
                                      const QuantizationConfig& qc, kernels::Backend& backend, const HeldOutJudge& judge) {
  c10::InferenceMode guard;
  const ModelFamily::PartlyQuantized models = original.partly_quantized_models(exported, qc, backend);
  const auto with_int8 = [&](const std::set<std::string>& int8_linears) { return judge.judge(models(int8_linears)); };
  std::set<std::string> all;
  std::vector<std::pair<std::string, std::vector<std::string>>> units;  // each linear, then each layer
  std::map<std::string, std::vector<std::string>> layers;
  std::vector<std::string> layer_order;
  for (const QuantizedLinear& l : original.linears()) {
    all.insert(l.name);
    units.push_back({l.name, {l.name}});
    const std::string layer = layer_of(l.name);
    if (!layers.count(layer)) layer_order.push_back(layer);
    layers[layer].push_back(l.name);
  }
  const std::size_t linear_count = units.size();
  for (const std::string& layer : layer_order) units.push_back({layer, layers.at(layer)});

  SensitivityRanking r;
  r.all = with_int8(all);
  for (std::size_t i = 0; i < units.size(); ++i) {
    Sensitivity s;
    s.name = units[i].first;
    s.linears = units[i].second;
    const std::set<std::string> these(s.linears.begin(), s.linears.end());
    std::set<std::string> others;
    std::set_difference(all.begin(), all.end(), these.begin(), these.end(), std::inserter(others, others.end()));
    s.alone = with_int8(these);
    s.all_but = with_int8(others);
    (i < linear_count ? r.linears : r.layers).push_back(std::move(s));
  }
  const auto worst_first = [](const Sensitivity& a, const Sensitivity& b) { return a.alone.loss() > b.alone.loss(); };
  std::stable_sort(r.linears.begin(), r.linears.end(), worst_first);
  std::stable_sort(r.layers.begin(), r.layers.end(), worst_first);
  return r;
}

nlohmann::json to_json(const SensitivityRanking& r) {
  return {{"ranked_by", std::string("alone ") + loss_name(r.all.measure) + ", worst first"},
          {"all", to_json(r.all)},
          {"linears", to_json(r.linears)},
          {"layers", to_json(r.layers)}};
}

}  // namespace smoothcheck::pipeline
