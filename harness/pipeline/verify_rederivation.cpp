#include "harness/pipeline/verify_rederivation.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/pipeline/export_checks.h"
#include "harness/pipeline/rederived_smoothing.h"
#include "harness/pipeline/rederived_weights.h"

namespace smoothcheck::pipeline {

namespace {

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

const char* variant_formula(WeightQuant v) {
  switch (v) {
    case WeightQuant::lmdeploy: return "absmax/127";
    case WeightQuant::smoothquant: return "max(absmax, 1e-5)/127";
    case WeightQuant::compressed_tensors: return "max(absmax/127.5, FLT_EPSILON)";
  }
  return "?";
}

LinearCheck& entry_of(VerifyReport& r, const std::string& name) {
  for (LinearCheck& c : r.linears)
    if (c.name == name) return c;
  throw std::logic_error("check_rederivation: " + name + " has no weight check entry");
}

// The stored s against the recipe's; the worst channel decides, and when it fails the recipe and α
// that would explain the stored s, if one on the grid does, are named.
void check_migration_scale(const std::string& name, const std::vector<float>& stored, const std::vector<double>& recipe,
                           const SmoothingGroup* group, const FloatWeights& original, const CalibrationStats* stats,
                           const QuantizationConfig& qc, LinearCheck& c, VerifyReport& r) {
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t j = 0; j < recipe.size(); ++j) {
    double e = std::fabs(stored[j] - recipe[j]) / (0x1.0p-24 * std::fabs(recipe[j]));
    if (!(e == e)) e = INFINITY;
    if (e > worst) {
      worst = e;
      at = j;
    }
  }
  c.migration_scale_error_u = worst;
  if (worst <= kMigrationScaleTolerance / 0x1.0p-24) return;
  std::string text = "migration_scale: " + name + "[" + std::to_string(at) + "] = " + number(stored[at]) + ", but ";
  text += qc.smoothing ? std::string("recipe ") + to_string(qc.recipe) + " with alpha " + number(qc.alpha) +
                             " on the calibration statistics gives " + number(recipe[at])
                       : "the export says it was not smoothed (s = 1)";
  text += " (" + number(worst) + " u apart, tolerance " + number(kMigrationScaleTolerance / 0x1.0p-24) + " u)";
  if (group && stats) {
    const std::string fit = explain_migration_scale(*group, original, *stats, stored);
    text += fit.empty() ? "; no recipe and alpha on a 0.05 grid explains the stored s" : "; it matches " + fit;
  }
  r.failures.push_back(text);
}

void check_weights(const std::string& name, const RederivedWeights& w, WeightQuant variant, LinearCheck& c,
                   VerifyReport& r) {
  c.weight_scale_error_u = w.max_scale_error_u;
  c.midpoint_codes = w.midpoint_codes;
  c.wrong_codes = w.wrong_codes;
  if (!(w.max_scale_error_u <= w.scale_tolerance_u))
    r.failures.push_back("weight_scale: " + name + " row " + std::to_string(w.worst_scale_row) + " stores " +
                         number(w.worst_scale_stored) + ", but weight variant " + to_string(variant) + " (" +
                         variant_formula(variant) + ") of the smoothed original gives " + number(w.worst_scale_recipe) +
                         " (" + number(w.max_scale_error_u) + " u apart, tolerance " + number(w.scale_tolerance_u) + " u)");
  if (w.wrong_codes > 0)
    r.failures.push_back("codes: " + name + " [" + std::to_string(w.first_wrong_row) + ", " +
                         std::to_string(w.first_wrong_col) + "] = " + std::to_string(w.first_wrong_stored) +
                         ", but weight variant " + to_string(variant) + " gives " + std::to_string(w.first_wrong_recipe) +
                         " (smoothed w/scale = " + number(w.first_wrong_value) + "); " + std::to_string(w.wrong_codes) +
                         " of " + std::to_string(w.codes) + " codes differ");
}

}  // namespace

void check_rederivation(const checkpoint::Checkpoint& quantized, const FloatWeights& original,
                        const std::vector<SmoothingGroup>& groups, const CalibrationStats* stats,
                        const QuantizationConfig& qc, VerifyReport& r) {
  std::map<std::string, std::vector<float>> stored;
  for (const auto& [name, m] : original.linears)
    stored[name] = f32_vector(quantized.tensor(name + ".migration_scale"));

  // migration_scale: needs the statistics unless the export says it was not smoothed (then s = 1).
  if (stats || !qc.smoothing) {
    static const CalibrationStats none;
    const auto recipe = rederive_migration_scales(groups, original, stats ? *stats : none, qc);
    std::map<std::string, const SmoothingGroup*> group_of;
    for (const SmoothingGroup& g : groups)
      for (const std::string& fc : g.fcs) group_of[fc] = &g;
    for (const auto& [name, m] : original.linears) {
      const auto g = group_of.find(name);
      check_migration_scale(name, stored.at(name), recipe.at(name), g == group_of.end() ? nullptr : g->second, original,
                            stats, qc, entry_of(r, name), r);
    }
    r.ran.insert("migration_scale");
  } else {
    r.not_run["migration_scale"] =
        "no calibration statistics (--stats): the migration scales were taken as stored, and the weight scales and "
        "codes below were re-derived from them";
  }

  // weight_scale and codes, from the stored s (checked above when statistics were given).
  std::map<std::string, const std::vector<float>*> rowdiv;
  if (qc.mode == SmoothMode::fused)
    for (const SmoothingGroup& g : groups)
      if (g.kind == SourceKind::linear) rowdiv[g.source] = &stored.at(g.fcs.front());
  for (const auto& [name, m] : original.linears) {
    const auto d = rowdiv.find(name);
    const RederivedWeights w =
        rederive_weights(m, quantized.tensor(name + ".weight"), quantized.tensor(name + ".scale"), stored.at(name),
                         d == rowdiv.end() ? nullptr : d->second, qc.weight_variant);
    check_weights(name, w, qc.weight_variant, entry_of(r, name), r);
  }
  r.ran.insert("weight_scale");
  r.ran.insert("codes");
}

}  // namespace smoothcheck::pipeline
