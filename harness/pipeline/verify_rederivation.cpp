#include "harness/pipeline/verify_rederivation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

#include <ATen/ATen.h>

#include "harness/pipeline/export_checks.h"
#include "harness/pipeline/rederived_smoothing.h"
#include "harness/pipeline/rederived_weights.h"
#include "kernels/numerics.h"

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
    case WeightQuant::compressed_tensors: return "absmax/127.5 (the eps of its dtype where that is 0)";
  }
  return "?";
}

LinearCheck& entry_of(VerifyReport& r, const std::string& name) {
  for (LinearCheck& c : r.linears)
    if (c.name == name) return c;
  throw std::logic_error("check_migration_scales: " + name + " has no weight check entry");
}

// The stored s against the recipe's; the worst channel decides, and when it fails the recipe and α
// that would explain the stored s, if one on the grid does, are named.
void check_migration_scale(const std::string& name, const std::vector<float>& stored, const std::vector<double>& recipe,
                           const SmoothingGroup* group, const FloatWeights& original, const CalibrationStats* stats,
                           const QuantizationConfig& qc, DType arithmetic, LinearCheck& c, VerifyReport& r) {
  // The worst channel by distance; the first channel the rule refuses decides a failure.
  double worst = 0;
  std::size_t refused = recipe.size();
  for (std::size_t j = 0; j < recipe.size(); ++j) {
    double e = std::fabs(stored[j] - recipe[j]) / (0x1.0p-24 * std::fabs(recipe[j]));
    if (!(e == e)) e = INFINITY;
    worst = std::max(worst, e);
    if (refused == recipe.size() && !migration_scale_allowed(stored[j], recipe[j], arithmetic)) refused = j;
  }
  c.migration_scale_error_u = worst;
  if (refused == recipe.size()) return;
  const std::size_t at = refused;
  std::string text = "migration_scale: " + name + "[" + std::to_string(at) + "] = " + number(stored[at]) + ", but ";
  const auto own = group ? qc.group_alphas.find(group->source) : qc.group_alphas.end();
  const float alpha = own == qc.group_alphas.end() ? qc.alpha : own->second;
  text += qc.smoothing ? std::string("recipe ") + to_string(qc.recipe) + " with alpha " + number(alpha) +
                             " on the calibration statistics gives " + number(recipe[at])
                       : "the export says it was not smoothed (s = 1)";
  text += " (" + number(std::fabs(stored[at] - recipe[at]) / (0x1.0p-24 * std::fabs(recipe[at]))) + " u apart, tolerance " +
          number(kMigrationScaleTolerance / 0x1.0p-24) + " u" +
          (arithmetic == DType::f32 ? std::string(")") : std::string("; in ") + to_string(arithmetic) + ": one ulp)");
  if (group && stats) {
    const std::string fit = explain_migration_scale(*group, original, *stats, stored, arithmetic);
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

// The stored codes in place where the export's format maps them: a 1.1B export's 1 GB of codes is
// then never copied out, nor are fresh pages zeroed for the copies. Read-only (the tensor points into
// the file's read-only mapping; nothing here writes codes); its pages are dropped when it is freed.
at::Tensor stored_codes(const checkpoint::Checkpoint& quantized, const std::string& name) {
  std::optional<checkpoint::MappedTensorBytes> m = quantized.mapped(name);
  if (!m || m->info.dtype != DType::i8) return quantized.tensor(name).contiguous();
  auto* data = const_cast<std::uint8_t*>(m->data);
  const std::vector<int64_t> shape = m->info.shape;
  return at::from_blob(data, shape, [bytes = std::move(*m)](void*) { bytes.release(0, bytes.info.nbytes); },
                       at::TensorOptions().dtype(at::kChar));
}

}  // namespace

std::map<std::string, std::vector<float>> stored_migration_scales(const checkpoint::Checkpoint& quantized,
                                                                  const FloatWeights& original) {
  std::map<std::string, std::vector<float>> stored;
  for (const auto& [name, m] : original.linears)
    stored[name] = f32_vector(quantized.tensor(name + ".migration_scale"));
  return stored;
}

std::map<std::string, std::string> fused_row_divisors(const std::vector<SmoothingGroup>& groups, SmoothMode mode) {
  std::map<std::string, std::string> divisors;
  if (mode == SmoothMode::fused)
    for (const SmoothingGroup& g : groups)
      if (g.kind == SourceKind::linear) divisors[g.source] = g.fcs.front();
  return divisors;
}

void check_quantized_linears(const checkpoint::Checkpoint& quantized, const FloatWeights& original,
                             const std::map<std::string, std::vector<float>>& stored_s,
                             const std::map<std::string, std::string>& row_divisors, WeightQuant variant,
                             DType arithmetic, double max_error_over_bound, VerifyReport& r, double s_error_u,
                             const DeferredLinears* deferred) {
  // numerics.md §8's bound is half a quantisation step. In a bf16/f16 arithmetic each rounding of the
  // smoothed weight to the dtype (w·s, then ÷ d) and the quantiser's own rounding of w/scale to it (the
  // variants that divide in the weight's dtype) each move the code by at most |v|·u ≤ 127.5·u of the
  // dtype: the bound grows by that many half steps.
  const double u = arithmetic == DType::f32 ? 0.0 : pipeline::unit_roundoff(arithmetic);
  const int quotient_roundings = numerics::weight_arithmetic(variant, arithmetic) == arithmetic ? 1 : 0;
  for (const auto& [name, m] : original.linears) {
    const auto d = row_divisors.find(name);
    const std::vector<float>* rowdiv = d == row_divisors.end() ? nullptr : &stored_s.at(d->second);
    const std::vector<float>& s = stored_s.at(name);
    const at::Tensor q = stored_codes(quantized, name + ".weight");
    const at::Tensor sc = quantized.tensor(name + ".scale").contiguous();
    // The scales and codes from the stored s (itself checked against the statistics by
    // check_migration_scales when they are given), and the error scan of each block of rows right
    // after the re-derivation has read it (LinearErrorCheck, from the core's cache: verify at
    // 1.1B spent 0.8 s of its 4.2 reading the rows a second time from memory).
    LinearErrorCheck error_check(name, m, q, sc, s, rowdiv);
    const DeferredRows* fill = nullptr;
    if (deferred) {
      const auto it = deferred->find(name);
      if (it != deferred->end()) fill = &it->second;
    }
    std::function<void(int64_t, int64_t)> fill_rows;
    if (fill) fill_rows = [fill](int64_t first_row, int64_t rows) { fill->fill(first_row, rows); };
    const RederivedWeights rederived = rederive_weights(
        m, q, sc, s, rowdiv, variant, arithmetic, s_error_u, RederivationPath::vectorized_where_available,
        [&](int64_t first_row, int64_t rows) { error_check.scan_rows(first_row, first_row + rows); }, fill_rows);
    if (fill) fill->stored.release(0, fill->stored.info.nbytes);
    LinearCheck c = error_check.finish();
    c.max_error_over_bound /= 1.0 + 2 * 127.5 * u * ((rowdiv ? 2 : 1) + quotient_roundings);
    if (!(c.max_error_over_bound <= max_error_over_bound))
      r.failures.push_back("weights: " + name + " errs by " + std::to_string(c.max_error_over_bound) +
                           " x its bound scale/2 at [" + std::to_string(c.worst_row) + ", " +
                           std::to_string(c.worst_col) + "]");
    check_weights(name, rederived, variant, c, r);
    r.linears.push_back(c);
  }
  r.ran.insert({"weights", "weight_scale", "codes"});
}

void check_migration_scales(const FloatWeights& original, const std::vector<SmoothingGroup>& groups,
                            const std::map<std::string, std::vector<float>>& stored_s, const CalibrationStats* stats,
                            const QuantizationConfig& qc, DType arithmetic, VerifyReport& r) {
  if (!stats && qc.smoothing) {
    r.not_run["migration_scale"] =
        "no calibration statistics (--stats): the migration scales were taken as stored, and the weight scales and "
        "codes were re-derived from them";
    return;
  }
  static const CalibrationStats none;  // an unsmoothed export's s is 1, whatever the statistics
  const auto recipe = rederive_migration_scales(groups, original, stats ? *stats : none, qc, arithmetic);
  std::map<std::string, const SmoothingGroup*> group_of;
  for (const SmoothingGroup& g : groups)
    for (const std::string& fc : g.fcs) group_of[fc] = &g;
  for (const auto& [name, m] : original.linears) {
    const auto g = group_of.find(name);
    check_migration_scale(name, stored_s.at(name), recipe.at(name), g == group_of.end() ? nullptr : g->second,
                          original, stats, qc, arithmetic, entry_of(r, name), r);
  }
  r.ran.insert("migration_scale");
}

}  // namespace smoothcheck::pipeline
