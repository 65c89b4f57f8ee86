#include "harness/pipeline/verify.h"

#include <cmath>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/export_checks.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/smooth_model.h"
#include "harness/pipeline/smoothing_units.h"
#include "harness/pipeline/stacked_scales.h"
#include "harness/pipeline/verify_rederivation.h"
#include "harness/models/quantized_layout.h"
#include "reference/reference.h"

namespace smoothcheck::pipeline {

namespace {

// Step 3 for one unit (a layer: smoothing_units.h): its linears' reconstruction (fused fc->fc:
// un-divided by the next group's s), the re-derivation of its stored numbers, and in fused mode its
// smoothed norms (original / s within the rounding to the dtype). Everything else unquantised is
// checked bit for bit by check_unquantised.
void check_unit(const checkpoint::Checkpoint& orig, const checkpoint::Checkpoint& quant, const SmoothingUnit& unit,
                const CalibrationStats* stats, const QuantizationConfig& qc, DType dtype,
                const VerifyThresholds& thresholds, FloatBufferPool& pool, VerifyReport& r) {
  const DType arithmetic = smoothing_dtype(qc.smoothing_arithmetic, dtype);
  // The linears' rows are widened by the re-derivation as it reaches them (DeferredRows): all of them by
  // the time check_quantized_linears returns, before the checks below read the weights again.
  DeferredLinears deferred;
  FloatWeights ow = load_float_weights(orig, unit.linears, unit.norms, &pool, &deferred);
  const std::map<std::string, std::vector<float>> s = stored_migration_scales(quant, ow);
  check_quantized_linears(quant, ow, s, fused_row_divisors(unit.groups, qc.mode), qc.weight_variant, arithmetic,
                          thresholds.max_weight_error_over_bound, r, 0, &deferred);
  check_migration_scales(ow, unit.groups, s, stats, qc, arithmetic, r);
  if (qc.mode == SmoothMode::fused)
    for (const SmoothingGroup& g : unit.groups) {
      if (g.kind != SourceKind::norm) continue;
      const std::string name = g.source + ".weight";
      const std::vector<float>& w = ow.norms.at(g.source);
      const std::vector<float> gv = f32_vector(quant.tensor(name));
      const std::vector<float>& sv = s.at(g.fcs.front());
      // float32 arithmetic: the f32 quotient, then one rounding to the dtype. In the model's dtype the
      // engines' own two roundings of the quotient (to f32, then to the dtype), exactly.
      const double tol = arithmetic == DType::f32 ? pipeline::unit_roundoff(dtype) + 2 * 0x1.0p-24 : 0.0;
      for (std::size_t j = 0; j < gv.size(); ++j) {
        const double exact = static_cast<double>(w[j]) / sv[j];
        const double want = arithmetic == DType::f32
                                ? exact
                                : reference::round_to_dtype(reference::round_to_dtype(exact, DType::f32), arithmetic);
        if (std::fabs(gv[j] - want) > tol * std::fabs(want)) {
          r.failures.push_back("unquantised: fused " + name + "[" + std::to_string(j) + "] = " + std::to_string(gv[j]) +
                               ", expected original / s = " + std::to_string(want));
          break;
        }
      }
    }
  pool.give(ow);
}

// Every tensor of the export that quantisation does not produce (embeddings, norms migration mode
// leaves alone, biases, an untied head) is the original's, bit for bit in the export's dtype.
void check_unquantised(const checkpoint::Checkpoint& orig, const checkpoint::Checkpoint& quant,
                       const std::vector<ExportTensor>& layout, const std::vector<SmoothingUnit>& units,
                       SmoothMode mode, VerifyReport& r) {
  std::set<std::string> produced;
  for (const SmoothingUnit& u : units) {
    for (const QuantizedLinear& q : u.linears)
      for (const char* suffix : {".weight", ".scale", ".migration_scale"}) produced.insert(q.name + suffix);
    if (mode == SmoothMode::fused)
      for (const SmoothingGroup& g : u.groups)
        if (g.kind == SourceKind::norm) produced.insert(g.source + ".weight");
  }
  for (const ExportTensor& e : layout) {
    if (produced.count(e.name)) continue;
    // In place where both formats map their files: nothing copied out.
    const std::optional<checkpoint::MappedTensorBytes> in_original = orig.mapped(e.name);
    const std::optional<checkpoint::MappedTensorBytes> in_export = quant.mapped(e.name);
    if (in_original && in_export && in_original->info.dtype == in_export->info.dtype) {
      if (!same_bits(*in_original, *in_export))
        r.failures.push_back("unquantised: " + e.name + " differs from the original");
      continue;
    }
    // Otherwise the two reads at once, on two cores: at 1.1B the embedding and the untied head (131 MB each, in
    // each checkpoint) made this loop verify's last 0.8 s, on one core.
    std::future<at::Tensor> original = std::async(std::launch::async, [&] { return orig.tensor(e.name); });
    const at::Tensor got = quant.tensor(e.name);
    if (!same_bits(got, original.get().to(got.scalar_type())))
      r.failures.push_back("unquantised: " + e.name + " differs from the original");
  }
}

}  // namespace

const char* to_string(CheckState s) {
  switch (s) {
    case CheckState::passed: return "passed";
    case CheckState::failed: return "failed";
    case CheckState::not_run: return "not run";
  }
  return "?";
}

const std::vector<std::string>& verify_check_names() {
  static const std::vector<std::string> names = {"layout",  "loader",      "migration_scale", "weight_scale", "codes",
                                                 "weights", "unquantised", "smoothing",       "forward"};
  return names;
}

std::vector<CheckOutcome> VerifyReport::checks() const {
  std::vector<CheckOutcome> out;
  for (const std::string& name : check_list.empty() ? verify_check_names() : check_list) {
    CheckOutcome c{name, CheckState::not_run, ""};
    const std::string prefix = name + ":";
    for (const std::string& f : failures)
      if (f.compare(0, prefix.size(), prefix) == 0) c.state = CheckState::failed;
    if (c.state != CheckState::failed) {
      if (const auto why = not_run.find(name); why != not_run.end()) c.why_not_run = why->second;
      else if (ran.count(name)) c.state = CheckState::passed;
      else c.why_not_run = "not reached: an earlier check failed";
    }
    out.push_back(c);
  }
  return out;
}

nlohmann::json VerifyReport::to_json() const {
  nlohmann::json j;
  j["schema"] = "smoothcheck.verify/1";
  j["architecture"] = family;
  j["format"] = format;
  if (!format_evidence.empty()) j["format_evidence"] = format_evidence;
  if (!notes.empty()) j["notes"] = notes;
  if (!recovered.empty()) {
    nlohmann::json gs = nlohmann::json::array();
    for (const RecoveredGroupSummary& g : recovered) {
      nlohmann::json e = {{"source", g.source}, {"fcs", g.fcs}, {"smoothed", g.smoothed}, {"evidence", g.evidence},
                          {"s_min", g.s_min}, {"s_max", g.s_max}, {"worst_consistency", g.worst_consistency}};
      if (!g.fit_recipe.empty())
        e["fit"] = {{"recipe", g.fit_recipe}, {"alpha", g.fit_alpha}, {"residual", g.fit_residual},
                    {"channels", g.fit_channels}};
      gs.push_back(e);
    }
    j["recovered_smoothing"] = gs;
  }
  j["passed"] = passed();
  j["complete"] = complete();
  j["failures"] = failures;
  nlohmann::json cs = nlohmann::json::array();
  for (const CheckOutcome& c : checks()) {
    nlohmann::json e = {{"check", c.check}, {"state", to_string(c.state)}};
    if (c.state == CheckState::not_run) e["why"] = c.why_not_run;
    cs.push_back(e);
  }
  j["checks"] = cs;
  j["quantization_config"] = pipeline::to_json(quantization);
  j["total_size"] = {{"declared", declared_total_size}, {"expected", expected_total_size}, {"stored", stored_total_size}};
  nlohmann::json ls = nlohmann::json::array();
  for (const LinearCheck& c : linears)
    ls.push_back({{"name", c.name}, {"max_error_over_bound", c.max_error_over_bound}, {"max_abs_error", c.max_abs_error},
                  {"worst", {c.worst_row, c.worst_col}}, {"migration_scale_error_u", c.migration_scale_error_u},
                  {"weight_scale_error_u", c.weight_scale_error_u}, {"midpoint_codes", c.midpoint_codes},
                  {"wrong_codes", c.wrong_codes}});
  j["linears"] = ls;
  if (forward_comparison == ForwardComparison::sentence_embeddings) {
    j["forward"] = {{"sentences", sentences},
                    {"min_embedding_cosine", min_embedding_cosine},
                    {"mean_embedding_cosine", mean_embedding_cosine},
                    {"max_abs_embedding_delta", max_abs_embedding_delta},
                    {"weight_only", {{"min_embedding_cosine", weight_only_min_embedding_cosine}}}};
    j["thresholds"] = {{"max_weight_error_over_bound", thresholds.max_weight_error_over_bound},
                       {"min_embedding_cosine", thresholds.min_embedding_cosine}};
    return j;
  }
  j["forward"] = {{"skipped", forward_skipped},
                  {"tokens", tokens},
                  {"max_abs_logit_delta", max_abs_logit_delta},
                  {"argmax_agreement", argmax_agreement},
                  {"nll_original", nll_original},
                  {"nll_quantized", nll_quantized},
                  {"nll_increase", nll_quantized - nll_original},
                  {"token_kl", {{"mean", mean_token_kl}, {"max", max_token_kl}}},
                  {"weight_only", {{"max_abs_logit_delta", weight_only_max_abs_logit_delta},
                                   {"argmax_agreement", weight_only_argmax_agreement},
                                   {"nll", weight_only_nll}}}};
  if (!linear_sqnr.empty()) {
    nlohmann::json ls = nlohmann::json::array();
    for (const LinearSqnr& l : linear_sqnr) ls.push_back({{"name", l.name}, {"sqnr_db", l.sqnr_db}});
    j["forward"]["linear_sqnr_db"] = ls;
  }
  j["thresholds"] = {{"max_weight_error_over_bound", thresholds.max_weight_error_over_bound},
                     {"min_argmax_agreement", thresholds.min_argmax_agreement},
                     {"max_nll_increase", thresholds.max_nll_increase},
                     {"max_abs_logit_delta", thresholds.max_abs_logit_delta}};
  return j;
}

VerifyReport verify_export(kernels::Backend& backend, const VerifyOptions& o) {
  c10::InferenceMode guard;
  VerifyReport r;
  r.thresholds = o.thresholds;
  const std::unique_ptr<ModelFamily> orig = open_model_family(o.original);
  r.family = orig->name();
  r.forward_comparison = orig->forward_comparison();
  if (!o.forward && !orig->forward_check_optional())
    throw std::invalid_argument(std::string("--no-forward does not apply to ") + orig->name() +
                                " exports: their forward check is cheap and always runs");
  checkpoint::ModelDir quant_dir = checkpoint::open_model_dir(o.quantized);
  r.quantization = require_export_quantization_config(quant_dir.dir, quant_dir.config_json);
  const QuantizationConfig& qc = r.quantization;
  const std::unique_ptr<ModelFamily> quant_family = open_model_family(std::move(quant_dir));
  orig->require_same_model(*quant_family);
  const checkpoint::Checkpoint& original = orig->checkpoint();
  const checkpoint::Checkpoint& quant = quant_family->checkpoint();

  // 1. Layout, in the original's stored dtype (unquantised tensors keep it).
  const DType dtype = orig->stored_dtype();
  const std::vector<ExportTensor> layout = orig->export_tensors(qc.migration_scales);
  check_layout(quant, layout, original.opaque_tensors(), r);
  if (!r.failures.empty()) return r;  // later checks would only repeat the layout's problems
  r.ran.insert("layout");
  if (const std::string why = orig->inexact_mode_reason(qc.mode); !why.empty()) {
    r.failures.push_back("mapping: " + why);
    return r;
  }
  if (!qc.migration_scales) {
    r.failures.push_back("weights: the export carries no migration scales, so its weights cannot be un-smoothed");
    return r;
  }

  // 2. The stacked-parameter loader.
  try {
    load_stacked_migration_scales(quant, orig->stacked_groups());
  } catch (const checkpoint::CheckpointError& e) {
    r.failures.push_back(std::string("loader: ") + e.what());
  }
  r.ran.insert("loader");
  const std::vector<QuantizedLinear> linears = orig->linears();
  std::optional<CalibrationStats> stats;
  if (o.stats) stats = read_calibration_stats(*o.stats, linears);

  // 3. Weights against the original, one layer at a time: memory holds a layer's float32 weights, not
  // the model's.
  const std::vector<SmoothingUnit> units =
      smoothing_units(linears, orig->norms(), orig->smoothing_groups(qc.mode, qc.fc_to_fc_pairs));
  {
    FloatBufferPool pool;  // one layer's float32 buffers, reused by the next; freed before the embeddings
    for (const SmoothingUnit& unit : units)
      check_unit(original, quant, unit, stats ? &*stats : nullptr, qc, dtype, o.thresholds, pool, r);
  }
  std::vector<std::string> names;
  for (const QuantizedLinear& q : linears) names.push_back(q.name);
  check_smoothing_applied(quant, names, qc, r);
  r.ran.insert("smoothing");
  check_unquantised(original, quant, layout, units, qc.mode, r);
  r.ran.insert("unquantised");

  // 4. The W8A8 forward against the float one.
  if (!o.forward) {
    r.forward_skipped = true;
    r.not_run["forward"] = "--no-forward";
    return r;
  }
  orig->check_forward(backend, *quant_family, qc, o, r);
  r.ran.insert("forward");
  return r;
}

}  // namespace smoothcheck::pipeline
