#include "harness/pipeline/third_party_audit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/torch_dtype.h"
#include "harness/pipeline/canonical_quantized_view.h"
#include "harness/pipeline/export_checks.h"
#include "harness/pipeline/export_in_format.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/recovered_smoothing.h"
#include "harness/pipeline/rederived_smoothing.h"
#include "harness/pipeline/rederived_weights.h"
#include "harness/pipeline/smoothing_units.h"
#include "harness/pipeline/stacked_scales.h"
#include "harness/pipeline/third_party_scheme.h"
#include "harness/pipeline/verify_rederivation.h"
#include "kernels/numerics.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

namespace {

std::string tp_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", v);
  return text;
}

// The scheme of the checkpoint's own quantization_config, over the original's linear modules (and the
// head of a causal LM, which compressed-tensors' "Linear" target reaches unless ignored).
ThirdPartyScheme read_scheme(const DetectedFormat& format, const checkpoint::ModelDir& quant, const ModelFamily& orig) {
  const nlohmann::json config = checkpoint::read_config_json(*quant.config_json);
  std::vector<std::string> modules;
  for (const QuantizedLinear& l : orig.linears()) modules.push_back(l.name);
  if (orig.forward_comparison() == ForwardComparison::logits) modules.push_back("lm_head");
  const nlohmann::json& q = config["quantization_config"];
  ThirdPartyScheme s = format.format == QuantizedFormat::compressed_tensors
                           ? compressed_tensors_scheme(q, *quant.config_json, modules)
                           : lmdeploy_scheme(q, *quant.config_json, modules);
  if (s.quantized.count("lm_head"))
    throw CheckpointError(*quant.config_json, "quantization_config quantises lm_head (" + s.quantized["lm_head"].rule +
                                                  "): an int8 head is not audited yet; its tied embedding stays float");
  return s;
}

// 1. The tensors the checkpoint's own config implies.
std::vector<ExportTensor> expected_layout(const ModelFamily& orig, const ThirdPartyScheme& scheme) {
  std::map<std::string, QuantizedLinear> linear_of_weight;
  for (const QuantizedLinear& l : orig.linears()) linear_of_weight[l.name + ".weight"] = l;
  const DType dtype = orig.stored_dtype();
  std::vector<ExportTensor> out;
  for (const std::string& name : orig.checkpoint().tensor_names()) {
    const checkpoint::TensorInfo info = orig.checkpoint().info(name);
    const auto l = linear_of_weight.find(name);
    const auto it = l == linear_of_weight.end() ? scheme.quantized.end() : scheme.quantized.find(l->second.name);
    if (it == scheme.quantized.end()) {
      out.push_back({name, info.dtype, info.shape});
      continue;
    }
    const QuantizedLinear& q = l->second;
    out.push_back({name, DType::i8, {q.out_features, q.in_features}});
    if (scheme.format == QuantizedFormat::compressed_tensors) {
      // compressed-tensors: scales in the weight's dtype (quantization/lifecycle/initialize.py), [out, 1]
      // per channel and [1] per tensor; input_scale [1] for a static per-tensor input.
      const std::vector<int64_t> shape = it->second.weight == WeightGranularity::channel
                                             ? std::vector<int64_t>{q.out_features, 1}
                                             : std::vector<int64_t>{1};
      out.push_back({q.name + ".weight_scale", dtype, shape});
      if (it->second.input == InputQuant::static_per_tensor) out.push_back({q.name + ".input_scale", dtype, {1}});
    } else {
      // lmdeploy: QLinear's scale buffer, float32 [out, 1] (pytorch/models/q_modules.py).
      out.push_back({q.name + ".scale", DType::f32, {q.out_features, 1}});
    }
  }
  return out;
}

// Row scales as float32 [O] (a per-tensor scale repeated), read from the checkpoint itself.
std::vector<float> row_scales(const checkpoint::Checkpoint& quant, QuantizedFormat f, const QuantizedLinear& l) {
  std::vector<float> s = f32_vector(quant.tensor(scale_tensor_name(f, l.name)));
  if (s.size() == 1) s.assign(static_cast<std::size_t>(l.out_features), s.front());
  return s;
}

StoredQuantizedLinear stored_linear(const checkpoint::Checkpoint& quant, QuantizedFormat f, const QuantizedLinear& l) {
  StoredQuantizedLinear q;
  const at::Tensor codes = quant.tensor(l.name + ".weight").contiguous();
  q.codes.assign(codes.data_ptr<int8_t>(), codes.data_ptr<int8_t>() + codes.numel());
  q.scale = row_scales(quant, f, l);
  q.rows = l.out_features;
  q.cols = l.in_features;
  return q;
}

// 2. Scales finite and positive, the codes filling the range they promise. compressed-tensors divides by
// absmax/127.5, so a row's largest magnitude lands on 127 or −128 (quantization/utils/helpers.py
// calculate_qparams, then the clamp to [−128, 127]); lmdeploy's absmax/127 puts it on ±127 exactly
// (per_channel_quant). A row of zeros: lmdeploy stores scale 0 and codes 0; compressed-tensors replaces
// the zero scale by its dtype's eps.
void check_scales(const checkpoint::Checkpoint& quant, const ThirdPartyScheme& scheme,
                  const std::vector<QuantizedLinear>& linears, VerifyReport& r) {
  for (const QuantizedLinear& l : linears) {
    const auto it = scheme.quantized.find(l.name);
    if (it == scheme.quantized.end()) continue;
    const std::string st = scale_tensor_name(scheme.format, l.name);
    const std::vector<float> s = f32_vector(quant.tensor(st));
    const at::Tensor codes = quant.tensor(l.name + ".weight").contiguous();
    const int8_t* c = codes.data_ptr<int8_t>();
    const bool per_tensor = s.size() == 1;
    int top_of_tensor = 0;
    for (int64_t row = 0; row < l.out_features; ++row) {
      const float sc = s[per_tensor ? 0 : static_cast<std::size_t>(row)];
      int top = 0, lowest = 0;
      for (int64_t j = 0; j < l.in_features; ++j) {
        const int v = c[row * l.in_features + j];
        top = std::max(top, std::abs(v));
        lowest = std::min(lowest, v);
      }
      top_of_tensor = std::max(top_of_tensor, top);
      const bool zero_row = top == 0;
      if (!std::isfinite(sc) || sc < 0 || (sc == 0 && !(zero_row && scheme.format == QuantizedFormat::lmdeploy))) {
        r.failures.push_back("scales: " + st + "[" + std::to_string(per_tensor ? 0 : row) + "] is " + tp_number(sc) +
                             ": a weight scale must be finite and > 0" +
                             (sc == 0 ? " (lmdeploy alone stores 0, and only for a row of zero codes)" : ""));
        return;
      }
      if (per_tensor || zero_row) continue;
      const bool full = scheme.format == QuantizedFormat::compressed_tensors ? (top == 127 || lowest == -128) : top == 127;
      if (!full) {
        r.failures.push_back("scales: " + l.name + " row " + std::to_string(row) + ": its largest code is " +
                             std::to_string(top) + ", so " + st + " = " + tp_number(sc) +
                             " is not the row's absmax over " +
                             (scheme.format == QuantizedFormat::compressed_tensors ? "127.5" : "127") +
                             " (the codes do not reach the range the scale promises)");
        return;
      }
    }
    if (per_tensor && top_of_tensor < 127)
      r.failures.push_back("scales: " + l.name + ": its largest code is " + std::to_string(top_of_tensor) + ", so " + st +
                           " is not the tensor's absmax over 127.5");
    if (it->second.input == InputQuant::static_per_tensor) {
      const float is = f32_vector(quant.tensor(l.name + ".input_scale")).front();
      if (!std::isfinite(is) || !(is > 0))
        r.failures.push_back("scales: " + l.name + ".input_scale is " + tp_number(is) + ": must be finite and > 0");
    }
  }
  r.ran.insert("scales");
}

// 3. What the engine's loader does to stacked parameters. vLLM (compressed-tensors W8A8 int8,
// model_executor/layers/quantization/compressed_tensors/schemes/compressed_tensors_w8a8_int8.py,
// process_weights_after_loading) expands differing per-tensor weight scales of q/k/v or gate/up to one
// per row (numbers unchanged) and runs a static input with the maximum of the shards' input_scale;
// lmdeploy's QLinear is per channel and concatenates. Notes, not failures: it is the engine's choice,
// and it is reported so a user sees which linears run with other numbers than stored.
void check_loader(const checkpoint::Checkpoint& quant, const ThirdPartyScheme& scheme, const ModelFamily& orig,
                  VerifyReport& r) {
  for (const StackedGroup& g : orig.stacked_groups()) {
    std::vector<std::string> members;
    for (const QuantizedLinear& m : g.members)
      if (scheme.quantized.count(m.name)) members.push_back(m.name);
    if (members.size() < 2) continue;
    std::set<InputQuant> inputs;
    std::set<WeightGranularity> weights;
    for (const std::string& m : members) {
      inputs.insert(scheme.quantized.at(m).input);
      weights.insert(scheme.quantized.at(m).weight);
    }
    if (inputs.size() > 1 || weights.size() > 1) {
      r.failures.push_back("loader: " + g.name + " stacks " + members.front() + " and its siblings with different "
                           "schemes; the engine loads them as one parameter with one scheme");
      continue;
    }
    if (*weights.begin() == WeightGranularity::tensor) {
      std::set<float> distinct;
      for (const std::string& m : members) distinct.insert(f32_vector(quant.tensor(m + ".weight_scale")).front());
      if (distinct.size() > 1)
        r.notes.push_back("loader: vLLM expands the " + std::to_string(distinct.size()) + " different per-tensor "
                          "weight scales of " + g.name + " to one per output row (codes and scales unchanged)");
    }
    if (*inputs.begin() == InputQuant::static_per_tensor) {
      float most = 0;
      std::string changed;
      std::vector<float> each;
      for (const std::string& m : members) each.push_back(f32_vector(quant.tensor(m + ".input_scale")).front());
      for (float v : each) most = std::max(most, v);
      for (std::size_t i = 0; i < members.size(); ++i)
        if (each[i] != most)
          changed += (changed.empty() ? "" : ", ") + members[i] + " (stored " + tp_number(each[i]) + ", step x" +
                     tp_number(most / each[i]) + ")";
      if (!changed.empty())
        r.notes.push_back("loader: vLLM quantises the input of " + g.name + " with the largest input_scale " +
                          tp_number(most) + ", so these run coarser than stored: " + changed);
    }
  }
  r.ran.insert("loader");
}

// The static input scale each linear runs with: vLLM loads q/k/v and gate/up as one parameter and keeps
// the maximum of their input_scale (compressed_tensors_w8a8_int8.py, process_weights_after_loading).
std::map<std::string, at::Tensor> loader_input_scales(const checkpoint::Checkpoint& quant, const ThirdPartyScheme& scheme,
                                                      const ModelFamily& orig) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, ls] : scheme.quantized)
    if (ls.input == InputQuant::static_per_tensor) out[name] = quant.tensor(name + ".input_scale").to(at::kFloat).reshape({1});
  for (const StackedGroup& g : orig.stacked_groups()) {
    float most = 0;
    for (const QuantizedLinear& m : g.members)
      if (out.count(m.name)) most = std::max(most, out[m.name].item<float>());
    for (const QuantizedLinear& m : g.members)
      if (out.count(m.name)) out[m.name] = at::full({1}, most, at::kFloat);
  }
  return out;
}

// Whether s (a group's recipe s, on trial) reproduces every row scale of the linears it touches (its
// fcs' columns, its source's rows) within the re-derivation's tolerance for a recipe s (16 u).
bool reproduces_row_scales(const RecoveredGroup& g, const std::vector<double>& s, const UnitRecovery& rec,
                           const FloatWeights& ow, const std::map<std::string, StoredQuantizedLinear>& stored,
                           WeightQuant variant, DType dtype) {
  const std::vector<float> trial(s.begin(), s.end());
  const auto rows_ok = [&](const std::string& name, const std::vector<float>& column_s, const std::vector<float>* rowdiv) {
    const StoredQuantizedLinear& q = stored.at(name);
    const at::Tensor codes = at::from_blob(const_cast<int8_t*>(q.codes.data()), {q.rows, q.cols}, at::kChar);
    const at::Tensor scale = at::from_blob(const_cast<float*>(q.scale.data()), {q.rows}, at::kFloat);
    const RederivedWeights w = rederive_weights(ow.linears.at(name), codes, scale, column_s, rowdiv, variant, dtype, 16);
    return w.max_scale_error_u <= w.scale_tolerance_u;
  };
  for (const std::string& fc : g.group.fcs)
    if (!rows_ok(fc, trial, nullptr)) return false;
  return rows_ok(g.group.source, rec.column_s.at(g.group.source), &trial);
}

// The unit's fc -> fc groups pinned to the recipe and α that explain its norm groups exactly (every one
// fitted with a residual below 1e-5, one recipe, one α on the 0.01 grid a tool's option takes), when
// that recipe's s lies inside every column's interval and reproduces the row scales it touches:
// lmdeploy computes every group's s with one recipe, so with the statistics it smoothed by (its own
// inputs_stats.pth) the chain from the statistics to the up/down codes closes, and the codes and the
// §8 bound are then checked with that s. Statistics that explain the norm groups but not the fc -> fc
// pair exactly (recomputed by another forward pass: the up/down input is the most sensitive) leave it
// at the quantiser's resolution, with a note saying why.
void pin_fc_to_fc_groups(UnitRecovery& rec, VerifyReport& r, std::size_t first_summary, const FloatWeights& ow,
                         const std::map<std::string, StoredQuantizedLinear>& stored, const CalibrationStats& stats,
                         WeightQuant variant, DType dtype) {
  std::string recipe;
  double alpha = -1;
  for (std::size_t i = first_summary; i < r.recovered.size(); ++i) {
    const RecoveredGroupSummary& g = r.recovered[i];
    if (!g.smoothed || g.evidence.rfind("norm ratio", 0) != 0) continue;
    const double snapped = std::round(g.fit_alpha * 100) / 100;
    if (g.fit_recipe.empty() || !(g.fit_residual < 1e-5) || std::fabs(g.fit_alpha - snapped) > 5e-4) return;
    if (!recipe.empty() && (recipe != g.fit_recipe || alpha != snapped)) return;
    recipe = g.fit_recipe;
    alpha = snapped;
  }
  if (recipe.empty()) return;
  QuantizationConfig qc;
  qc.recipe = parse_recipe(recipe);
  qc.alpha = static_cast<float>(alpha);
  bool changed = false;
  for (std::size_t i = 0; i < rec.groups.size(); ++i) {
    RecoveredGroup& g = rec.groups[i];
    if (!g.smoothed || g.group.kind != SourceKind::linear) continue;
    const std::vector<double> s = rederive_migration_scales({g.group}, ow, stats, qc, dtype).at(g.group.fcs.front());
    char what[64];
    std::snprintf(what, sizeof what, "recipe %s, alpha %.2f", recipe.c_str(), alpha);
    if (!reproduces_row_scales(g, s, rec, ow, stored, variant, dtype)) {
      r.notes.push_back("smoothing: " + g.group.source + " -> " + g.group.fcs.front() + ": " + what +
                        " on these statistics (which explains this layer's norm groups) does not reproduce its "
                        "row scales to 16 u: the statistics are not exactly the tool's; left at the quantiser's "
                        "resolution");
      continue;
    }
    if (pin_to_recipe(g, s, what)) {
      changed = true;
      r.recovered[first_summary + i].evidence = g.evidence;
    } else {
      r.notes.push_back("smoothing: " + g.group.source + " -> " + g.group.fcs.front() + ": " + what +
                        " (which explains this layer's norm groups) gives an s outside the interval its codes allow; "
                        "left at the quantiser's resolution");
    }
  }
  if (changed) settle_linears(rec, ow);
}

// check_quantized_linears finds a row divisor by a name in its map of s: the s dividing an fc -> fc
// source's rows is kept under "<source>#rows" beside every linear's column s.
constexpr const char* kRowsSuffix = "#rows";

}  // namespace

const std::vector<std::string>& audit_check_names() {
  static const std::vector<std::string> names = {"layout", "scales",  "loader",      "smoothing",
                                                 "weights", "weight_scale", "codes", "unquantised", "forward"};
  return names;
}

VerifyReport audit_third_party(kernels::Backend& backend, const VerifyOptions& o, const DetectedFormat& format) {
  c10::InferenceMode guard;
  VerifyReport r;
  r.thresholds = o.thresholds;
  r.format = to_string(format.format);
  r.format_evidence = format.evidence;
  r.check_list = audit_check_names();
  const std::unique_ptr<ModelFamily> orig = open_model_family(o.original);
  r.family = orig->name();
  r.forward_comparison = orig->forward_comparison();
  checkpoint::ModelDir quant_dir = checkpoint::open_model_dir(o.quantized);
  const ThirdPartyScheme scheme = read_scheme(format, quant_dir, *orig);
  const EngineProfile profile = engine_profile(scheme.engine);
  r.quantization = config_of_profile(profile);
  r.quantization.mode = SmoothMode::fused;
  r.quantization.migration_scales = false;
  r.notes.push_back(std::string("runtime: ") + profile.upstream);
  const std::unique_ptr<ModelFamily> quant_family = open_model_family(std::move(quant_dir));
  orig->require_same_model(*quant_family);
  const checkpoint::Checkpoint& original = orig->checkpoint();
  const checkpoint::Checkpoint& quant = quant_family->checkpoint();
  const DType dtype = orig->stored_dtype();

  // 1. Layout.
  // transformers writes one unsharded model.safetensors below its shard size: no index to hold a total.
  const bool sharded = quant.format() == checkpoint::CheckpointFormat::safetensors_sharded ||
                       quant.format() == checkpoint::CheckpointFormat::torch_bin_sharded;
  check_layout(quant, expected_layout(*orig, scheme), original.opaque_tensors(), r, /*index_required=*/sharded);
  if (!r.failures.empty()) return r;
  r.ran.insert("layout");
  const std::vector<QuantizedLinear> all_linears = orig->linears();
  std::vector<QuantizedLinear> linears;  // the quantised ones
  for (const QuantizedLinear& l : all_linears)
    if (scheme.quantized.count(l.name)) linears.push_back(l);

  // 2-3. Scales and the loader.
  check_scales(quant, scheme, linears, r);
  check_loader(quant, scheme, *orig, r);
  std::optional<CalibrationStats> stats;
  if (o.stats) stats = read_calibration_stats(*o.stats, all_linears);

  // 4. Smoothing recovered, one layer at a time, then the re-derivation on the recovered s.
  const std::vector<SmoothingGroup> candidates = orig->smoothing_groups(SmoothMode::fused, /*fc_to_fc_pairs=*/true);
  const std::vector<SmoothingUnit> units = smoothing_units(all_linears, orig->norms(), candidates);
  // The checkpoint under smoothcheck's names, opened once: each layer adds its linears' row scales and
  // recovered s; the forward then runs on the whole view.
  auto view = std::make_unique<CanonicalQuantizedView>(checkpoint::open_checkpoint(quant.location()));
  std::set<std::string> produced;  // tensors quantisation or smoothing wrote: not compared bit for bit
  std::vector<std::string> not_rederived;
  const WeightQuant variant = scheme.format == QuantizedFormat::compressed_tensors ? WeightQuant::compressed_tensors
                                                                                   : WeightQuant::lmdeploy;
  FloatBufferPool pool;
  for (const SmoothingUnit& unit : units) {
    FloatWeights ow = load_float_weights(original, unit.linears, unit.norms, &pool);
    std::map<std::string, StoredQuantizedLinear> stored;
    for (const QuantizedLinear& l : unit.linears)
      if (scheme.quantized.count(l.name)) stored[l.name] = stored_linear(quant, scheme.format, l);
    // A group with an fc left in float cannot be read from int8 codes; the audit refuses rather than
    // guess (no tool here leaves one fc of a group unquantised).
    std::vector<SmoothingGroup> groups;
    for (const SmoothingGroup& g : unit.groups) {
      bool all = true;
      for (const std::string& fc : g.fcs) all = all && stored.count(fc);
      if (g.kind == SourceKind::linear) all = all && stored.count(g.source);
      if (all) groups.push_back(g);
      else r.notes.push_back("smoothing: " + g.source + " -> " + g.fcs.front() + " has an unquantised member: not recovered");
    }
    std::map<std::string, std::vector<float>> stored_norms;
    for (const NormSpec& n : unit.norms) stored_norms[n.name] = f32_vector(quant.tensor(n.name + ".weight"));
    UnitRecovery rec =
        recover_unit_smoothing(ow, stored, stored_norms, groups, dtype, numerics::weight_arithmetic(variant, dtype), r.failures);
    const std::size_t first_summary = r.recovered.size();
    for (const RecoveredGroup& g : rec.groups) {
      RecoveredGroupSummary sum;
      sum.source = g.group.source;
      sum.fcs = g.group.fcs;
      sum.smoothed = g.smoothed;
      sum.evidence = g.evidence;
      sum.worst_consistency = g.worst_consistency;
      sum.s_min = *std::min_element(g.s.begin(), g.s.end());
      sum.s_max = *std::max_element(g.s.begin(), g.s.end());
      if (g.smoothed && g.group.kind == SourceKind::norm) produced.insert(g.group.source + ".weight");
      if (stats && g.smoothed) {
        // Fit on the channels whose s is known to 1 %: every norm channel, the well-resolved fc -> fc ones.
        std::vector<bool> use(g.s.size());
        for (std::size_t j = 0; j < use.size(); ++j) use[j] = g.uncertainty[j] < 1e-2;
        sum.fit_channels = std::count(use.begin(), use.end(), true);
        if (sum.fit_channels > 0) {
          const RecipeFit fit = fit_recipe_and_alpha(g.group, ow, *stats, g.s, use, dtype);
          sum.fit_recipe = to_string(fit.recipe);
          sum.fit_alpha = fit.alpha;
          sum.fit_residual = fit.residual;
        }
      }
      r.recovered.push_back(sum);
    }
    if (stats) pin_fc_to_fc_groups(rec, r, first_summary, ow, stored, *stats, variant, dtype);
    for (const auto& [name, s] : rec.column_s) r.recovered_s[name] = s;
    // Re-derivation: scales and codes where s is exact; the §8 bound (with s's uncertainty, above) where
    // it is not, and for per-tensor scales, whose formula is over the whole tensor.
    // Linears a recipe-pinned fc -> fc s touches carry the recipe's own distance from the tool's float
    // arithmetic (kMigrationScaleTolerance, 16 u); the rest the recovered norm ratio's (2 u).
    std::set<std::string> pinned;
    for (const RecoveredGroup& g : rec.groups)
      if (g.smoothed && g.group.kind == SourceKind::linear && g.evidence.find("pinned") != std::string::npos) {
        pinned.insert(g.group.fcs.begin(), g.group.fcs.end());
        pinned.insert(g.group.source);
      }
    FloatWeights exact, exact_pinned;
    exact.stored_dtype = exact_pinned.stored_dtype = ow.stored_dtype;
    std::map<std::string, std::vector<float>> s_of = rec.column_s;
    std::map<std::string, std::string> divisors;
    for (const auto& [source, d] : rec.row_divisor) {
      s_of[source + kRowsSuffix] = d;
      divisors[source] = source + kRowsSuffix;
    }
    for (const QuantizedLinear& l : unit.linears) {
      const auto it = scheme.quantized.find(l.name);
      if (it == scheme.quantized.end()) continue;
      produced.insert({l.name + ".weight", scale_tensor_name(scheme.format, l.name), l.name + ".input_scale"});
      view->set_linear(l.name, at::tensor(stored.at(l.name).scale).view({l.out_features, 1}),
                       at::tensor(rec.column_s.at(l.name)));
      if (rec.exact_linears.count(l.name) && it->second.weight == WeightGranularity::channel)
        (pinned.count(l.name) ? exact_pinned : exact).linears[l.name] = ow.linears.at(l.name);
      else
        not_rederived.push_back(l.name);
    }
    // The recovered s is one of the (at most two adjacent) floats whose quotient rounds to the stored norm.
    check_quantized_linears(*view, exact, s_of, divisors, variant, dtype, o.thresholds.max_weight_error_over_bound, r,
                            /*s_error_u=*/2);
    if (!exact_pinned.linears.empty())
      check_quantized_linears(*view, exact_pinned, s_of, divisors, variant, dtype,
                              o.thresholds.max_weight_error_over_bound, r, /*s_error_u=*/16);
    pool.give(ow);
  }
  if (!not_rederived.empty()) {
    std::string list;
    for (const std::string& n : not_rederived) list += (list.empty() ? "" : ", ") + n;
    r.notes.push_back("weight_scale and codes not re-derived for " + std::to_string(not_rederived.size()) +
                      " linears whose s is known only to the quantiser's resolution (fc -> fc pairs, zero norm "
                      "channels) or whose scale is per tensor; the smoothing check held them to half a step: " + list);
  }
  bool any_smoothed = false;
  for (const RecoveredGroupSummary& g : r.recovered) any_smoothed = any_smoothed || g.smoothed;
  if (!any_smoothed) r.notes.push_back("smoothing: no group was smoothed (plain W8A8)");
  r.ran.insert("smoothing");
  if (!stats) r.notes.push_back("smoothing: no --stats, so no recipe and alpha were fitted to the recovered s");

  // Unquantised: the rest is the original's, bit for bit (float linears the config leaves alone
  // included, unless a smoothed group multiplied them).
  for (const std::string& name : original.tensor_names()) {
    if (produced.count(name) || !quant.contains(name)) continue;
    const at::Tensor got = quant.tensor(name);
    if (!at::equal(got, original.tensor(name).to(got.scalar_type())))
      r.failures.push_back("unquantised: " + name + " differs from the original" +
                           (name.size() > 7 && scheme.untouched.count(name.substr(0, name.size() - 7))
                                ? " (" + scheme.untouched.at(name.substr(0, name.size() - 7)) + ")"
                                : ""));
  }
  r.ran.insert("unquantised");

  // 5. The W8A8 forward under the engine's runtime; static inputs with the scale its loader keeps.
  for (const auto& [linear, scale] : loader_input_scales(quant, scheme, *orig)) view->set_input_scale(linear, scale);
  if (!o.forward) {
    r.forward_skipped = true;
    r.not_run["forward"] = "--no-forward";
    return r;
  }
  checkpoint::ModelDir view_dir;
  view_dir.dir = quant_family->dir().dir;
  view_dir.config_json = quant_family->dir().config_json;
  view_dir.checkpoint = std::move(view);
  const std::unique_ptr<ModelFamily> view_family = open_model_family(std::move(view_dir));
  orig->check_forward(backend, *view_family, r.quantization, o, r);
  r.ran.insert("forward");
  return r;
}

}  // namespace smoothcheck::pipeline
