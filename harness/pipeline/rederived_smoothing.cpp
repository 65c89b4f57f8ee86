#include "harness/pipeline/rederived_smoothing.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "reference/reference.h"

namespace smoothcheck::pipeline {

namespace {

reference::Matrix reference_matrix(const FloatMatrix& m) {
  reference::Matrix out(m.rows, m.cols);
  for (std::size_t i = 0; i < m.data.size(); ++i) out.values[i] = m.data[i];
  return out;
}

reference::Vector reference_vector(const std::vector<float>& v) { return reference::Vector(v.begin(), v.end()); }

// The float64 inputs of one group's s that do not depend on the recipe's exponent.
struct GroupInputs {
  std::vector<reference::Matrix> fcs;
  reference::Vector norm;  // empty for a linear source
  const LinearStats* stats = nullptr;
};

GroupInputs group_inputs(const SmoothingGroup& g, const FloatWeights& original, const CalibrationStats& stats) {
  GroupInputs in;
  for (const std::string& fc : g.fcs) {
    const auto it = original.linears.find(fc);
    if (it == original.linears.end()) throw std::logic_error("re-derivation: smoothing group fc " + fc + " was not loaded");
    in.fcs.push_back(reference_matrix(it->second));
  }
  if (g.kind == SourceKind::norm) {
    const auto it = original.norms.find(g.source);
    if (it == original.norms.end()) throw std::logic_error("re-derivation: norm " + g.source + " was not loaded");
    in.norm = reference_vector(it->second);
  }
  const auto st = stats.linears.find(g.fcs.front());
  if (st == stats.linears.end())
    throw std::invalid_argument("the calibration statistics hold nothing for " + g.fcs.front());
  in.stats = &st->second;
  return in;
}

reference::Vector group_scale(const GroupInputs& in, Recipe recipe, double alpha) {
  return reference::smooth_scale(recipe_activation_statistic(*in.stats, recipe),
                                 reference::weight_stat(in.fcs, recipe, /*group_size=*/0), in.norm, recipe, alpha);
}

bool matches(const std::vector<float>& stored, const reference::Vector& s) {
  if (stored.size() != s.size()) return false;
  for (std::size_t j = 0; j < s.size(); ++j)
    if (!(std::fabs(stored[j] - s[j]) <= kMigrationScaleTolerance * std::fabs(s[j]))) return false;
  return true;
}

}  // namespace

std::vector<double> recipe_activation_statistic(const LinearStats& stats, Recipe recipe) {
  std::vector<double> a(stats.absmax.size());
  for (std::size_t j = 0; j < a.size(); ++j)
    a[j] = recipe == Recipe::llmcompressor ? static_cast<double>(stats.max[j]) - static_cast<double>(stats.min[j])
                                           : static_cast<double>(stats.absmax[j]);
  return a;
}

std::map<std::string, std::vector<double>> rederive_migration_scales(const std::vector<SmoothingGroup>& groups,
                                                                    const FloatWeights& original,
                                                                    const CalibrationStats& stats,
                                                                    const QuantizationConfig& qc) {
  std::map<std::string, std::vector<double>> s;
  if (qc.smoothing)
    for (const SmoothingGroup& g : groups) {
      // alpha as recorded: the float the export was made with, exactly (0.85f, not 0.85).
      const reference::Vector gs = group_scale(group_inputs(g, original, stats), qc.recipe, static_cast<double>(qc.alpha));
      for (const std::string& fc : g.fcs) s[fc] = gs;
    }
  for (const auto& [name, m] : original.linears)
    if (!s.count(name)) s[name] = std::vector<double>(static_cast<std::size_t>(m.cols), 1.0);
  return s;
}

std::string explain_migration_scale(const SmoothingGroup& group, const FloatWeights& original,
                                    const CalibrationStats& stats, const std::vector<float>& stored) {
  const GroupInputs in = group_inputs(group, original, stats);
  for (Recipe recipe : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor}) {
    const reference::Vector a = recipe_activation_statistic(*in.stats, recipe);
    const reference::Vector w = reference::weight_stat(in.fcs, recipe, 0);
    for (int step = 0; step <= 20; ++step) {
      const float alpha = static_cast<float>(step) / 20.0f;
      if (matches(stored, reference::smooth_scale(a, w, in.norm, recipe, alpha))) {
        char text[96];
        std::snprintf(text, sizeof text, "recipe %s, alpha %.2f", to_string(recipe), static_cast<double>(alpha));
        return text;
      }
    }
  }
  return "";
}

}  // namespace smoothcheck::pipeline
