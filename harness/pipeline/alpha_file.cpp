#include "harness/pipeline/alpha_file.h"

#include <stdexcept>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"
#include "harness/pipeline/smoothing_units.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

AlphaChoice parse_alpha_choice(const std::string& s) {
  if (s == "group") return AlphaChoice::group;
  if (s == "layer") return AlphaChoice::layer;
  if (s == "global") return AlphaChoice::global;
  throw std::invalid_argument("unknown alpha choice '" + s + "' (group, layer, global)");
}

std::map<std::string, float> read_alpha_file(const std::filesystem::path& file, const std::vector<SmoothingGroup>& groups,
                                             Recipe recipe, AlphaChoice choice) {
  const nlohmann::json j = checkpoint::read_json_file(file, "alpha file", /*max_depth=*/3, 16ull << 20);
  if (!j.is_object() || j.value("schema", std::string()) != "smoothcheck.alphas/1")
    throw CheckpointError(file, "is not an alpha file (schema smoothcheck.alphas/1, written by `smoothcheck sweep --out`)");
  const std::string chosen_for = j.value("recipe", std::string());
  if (chosen_for != to_string(recipe))
    throw CheckpointError(file, "its alphas were chosen for recipe '" + chosen_for + "', not " + to_string(recipe) +
                                    ": each recipe's s depends on alpha differently (sweep with the same --engine)");
  const auto alpha_of = [&](const nlohmann::json& v, const std::string& what) {
    if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1))
      throw CheckpointError(file, what + " is not an alpha in [0, 1]");
    return v.get<float>();
  };
  const auto entry = [&](const char* table, const std::string& key) -> const nlohmann::json& {
    if (!j.contains(table) || !j[table].is_object() || !j[table].contains(key))
      throw CheckpointError(file, std::string(table) + " has no alpha for " + key +
                                      " (a sweep of another model, engine or plan?)");
    return j[table][key];
  };
  std::map<std::string, float> out;
  for (const SmoothingGroup& g : groups) {
    switch (choice) {
      case AlphaChoice::group: {
        const std::string key = g.source + " -> " + g.fcs.front();
        out[g.source] = alpha_of(entry("per_group", key), "per_group." + key);
        break;
      }
      case AlphaChoice::layer: {
        const std::string key = layer_of(g.fcs.front());
        out[g.source] = alpha_of(entry("per_layer", key), "per_layer." + key);
        break;
      }
      case AlphaChoice::global:
        if (!j.contains("global")) throw CheckpointError(file, "has no global alpha");
        out[g.source] = alpha_of(j["global"], "global");
        break;
    }
  }
  return out;
}

}  // namespace smoothcheck::pipeline
