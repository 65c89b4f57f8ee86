#include "harness/pipeline/alpha_sweep.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/pipeline/smooth_model.h"
#include "harness/pipeline/smoothing_units.h"
#include "harness/pipeline/w8a8_linears.h"
#include "harness/pipeline/weight_quantization.h"

namespace smoothcheck::pipeline {

namespace {

double sqnr_db(double signal, double noise) { return noise > 0 ? 10 * std::log10(signal / noise) : INFINITY; }

// Sums over a group's fcs and tokens, in float64.
struct ErrorSums {
  double signal = 0, noise = 0, dot = 0, estimate = 0;  // Σ y², Σ (y − ŷ)², Σ y·ŷ, Σ ŷ²
  double weight_noise = 0, activation_noise = 0;
  void add(const at::Tensor& y, const at::Tensor& y_w8a8, const at::Tensor& y_weight_only,
           const at::Tensor& y_activation_only) {
    const at::Tensor r = y.to(at::kDouble), q = y_w8a8.to(at::kDouble);
    signal += r.pow(2).sum().item<double>();
    noise += (r - q).pow(2).sum().item<double>();
    dot += (r * q).sum().item<double>();
    estimate += q.pow(2).sum().item<double>();
    weight_noise += (r - y_weight_only.to(at::kDouble)).pow(2).sum().item<double>();
    activation_noise += (r - y_activation_only.to(at::kDouble)).pow(2).sum().item<double>();
  }
  SweepPoint point(float alpha) const {
    SweepPoint p;
    p.alpha = alpha;
    p.signal = signal;
    p.noise = noise;
    p.sqnr_db = sqnr_db(signal, noise);
    p.rel_mse = signal > 0 ? noise / signal : 0;
    p.cosine = signal > 0 && estimate > 0 ? dot / std::sqrt(signal * estimate) : 0;
    p.weight_only_sqnr_db = sqnr_db(signal, weight_noise);
    p.activation_only_sqnr_db = sqnr_db(signal, activation_noise);
    return p;
  }
};

at::Tensor as_tensor(const FloatMatrix& m) {
  return at::from_blob(const_cast<float*>(m.data.data()), {m.rows, m.cols}, at::kFloat);
}

// One group at one α (alpha < 0: unsmoothed, s = 1): smooth a copy of its weights, quantise each fc, and
// run it on the float model's input to the group.
// `float_outputs`: each fc's float output on x, which no α changes (computed once per group).
SweepPoint measure(kernels::Backend& backend, const SmoothingGroup& g, const FloatWeights& original,
                   const at::Tensor& x, const std::map<std::string, at::Tensor>& float_outputs,
                   const CalibrationStats& stats, const QuantizationConfig& qc, SmoothMode mode, DType arithmetic,
                   float alpha, std::vector<float>* s_out = nullptr) {
  FloatWeights w = original;
  std::map<std::string, std::vector<float>> s;
  if (alpha >= 0) {
    SmoothingOptions so;
    so.recipe = qc.recipe;
    so.alpha = alpha;
    so.mode = mode;
    so.arithmetic = arithmetic;
    s = smooth_groups(backend, {g}, stats, so, w).migration_scales;
    if (s_out) *s_out = s.at(g.fcs.front());
  }
  ErrorSums e;
  for (const std::string& fc : g.fcs) {
    const FloatMatrix& m = w.linears.at(fc);
    at::Tensor codes = at::empty({m.rows, m.cols}, at::kChar);
    at::Tensor scale = at::empty({m.rows}, at::kFloat);
    quantize_weight_rows(backend, m, qc.weight_variant, arithmetic, codes.data_ptr<int8_t>(), scale.data_ptr<float>());
    // The runtime's input is x / s (fused: the norm or the previous fc divided it; migration: the runtime
    // divides), as verify's per-linear SQNR forms it (linear_sqnr.h), so that the two measure the same thing.
    const at::Tensor x_s = alpha >= 0 ? (x / at::tensor(s.at(fc), at::kFloat)).contiguous() : x;
    const W8A8Output q = w8a8_dynamic_matmul(backend, qc.activation, qc.epilogue, x_s, at::Tensor(), codes, scale);
    const at::Tensor& y = float_outputs.at(fc);
    const at::Tensor weight_only = at::linear(x_s, codes.to(at::kFloat) * scale.unsqueeze(1));
    const at::Tensor activation_only = at::linear(q.qa.to(at::kFloat) * q.sa.unsqueeze(1), as_tensor(m));
    e.add(y, q.y, weight_only, activation_only);
  }
  return e.point(alpha);
}

// The α of `points` (within [lo, hi]) with the highest SQNR of the summed signal and noise; a tie goes
// to the α nearer 0.5.
float best_of(const std::vector<std::vector<const SweepPoint*>>& per_alpha, const std::vector<float>& alphas, float lo,
              float hi) {
  float best = -1;
  double best_db = -INFINITY;
  for (std::size_t a = 0; a < alphas.size(); ++a) {
    if (alphas[a] < lo || alphas[a] > hi) continue;
    double signal = 0, noise = 0;
    for (const SweepPoint* p : per_alpha[a]) signal += p->signal, noise += p->noise;
    const double db = sqnr_db(signal, noise);
    if (best < 0 || db > best_db || (db == best_db && std::fabs(alphas[a] - 0.5f) < std::fabs(best - 0.5f)))
      best = alphas[a], best_db = db;
  }
  return best;
}

}  // namespace

std::vector<float> parse_alpha_grid(const std::string& text) {
  std::vector<float> out;
  const auto number = [&](const std::string& s) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty()) throw std::invalid_argument("--alphas: '" + s + "' is not a number");
    return v;
  };
  if (text.find(':') != std::string::npos) {
    std::stringstream in(text);
    std::string a, b, step;
    if (!std::getline(in, a, ':') || !std::getline(in, b, ':') || !std::getline(in, step) || step.find(':') != std::string::npos)
      throw std::invalid_argument("--alphas: '" + text + "' is not start:stop:step");
    const double lo = number(a), hi = number(b), d = number(step);
    if (!(d > 0) || hi < lo) throw std::invalid_argument("--alphas: '" + text + "' needs start <= stop and step > 0");
    for (int64_t i = 0; lo + i * d <= hi + d / 100; ++i) out.push_back(static_cast<float>(lo + i * d));
  } else {
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(static_cast<float>(number(item)));
  }
  return out;
}

SweepResult sweep_alpha(kernels::Backend& backend, const ModelFamily& family, const CalibrationStats& stats,
                        const SweepOptions& o, const CalibrationProgress& progress) {
  c10::InferenceMode guard;
  if (o.alphas.empty()) throw std::invalid_argument("sweep: the α grid is empty");
  for (float a : o.alphas)
    if (!(a >= 0 && a <= 1)) throw std::invalid_argument("sweep: α " + std::to_string(a) + " is outside [0, 1]");
  if (!(o.alpha_min <= o.alpha_max)) throw std::invalid_argument("sweep: --alpha-min exceeds --alpha-max");
  if (std::none_of(o.alphas.begin(), o.alphas.end(), [&](float a) { return a >= o.alpha_min && a <= o.alpha_max; }))
    throw std::invalid_argument("sweep: no α of the grid lies in [--alpha-min, --alpha-max]");

  SweepResult r;
  r.engine = config_of_profile(engine_profile(o.engine));
  r.alpha_min = o.alpha_min;
  r.alpha_max = o.alpha_max;
  // Fused where the family's smoothing can be exact in it (LLaMA), else migration (BERT, post-LN): the
  // group's W8A8 output is the same product either way, but the groups are the mode's.
  r.mode = family.inexact_mode_reason(SmoothMode::fused).empty() ? SmoothMode::fused : SmoothMode::migration;
  const std::vector<SmoothingGroup> groups = family.smoothing_groups(r.mode, r.engine.fc_to_fc_pairs);
  const DType arithmetic = smoothing_dtype(r.engine.smoothing_arithmetic, family.stored_dtype());

  // The float model's input to each group (the first fc's: the others share it), over the calibration set.
  std::map<std::string, std::vector<at::Tensor>> batches;
  for (const SmoothingGroup& g : groups) batches[g.fcs.front()];
  family.calibration_inputs(o.calibration, progress, [&](const std::string& name, const at::Tensor& x) {
    const auto it = batches.find(name);
    if (it != batches.end()) it->second.push_back(x.clone());
  });

  std::map<std::string, QuantizedLinear> linear_of;
  for (const QuantizedLinear& l : family.linears()) linear_of[l.name] = l;
  std::map<std::string, NormSpec> norm_of;
  for (const NormSpec& n : family.norms()) norm_of[n.name] = n;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const SmoothingGroup& g = groups[gi];
    const at::Tensor x = at::cat(batches.at(g.fcs.front()), 0).contiguous();
    r.tokens = x.size(0);
    std::vector<QuantizedLinear> linears;
    for (const std::string& fc : g.fcs) linears.push_back(linear_of.at(fc));
    std::vector<NormSpec> norms;
    if (g.kind == SourceKind::norm) norms.push_back(norm_of.at(g.source));
    else linears.push_back(linear_of.at(g.source));
    const FloatWeights original = load_float_weights(family.checkpoint(), linears, norms);
    std::map<std::string, at::Tensor> float_outputs;
    for (const std::string& fc : g.fcs) float_outputs[fc] = at::linear(x, as_tensor(original.linears.at(fc)));
    GroupSweep gs;
    gs.group = g;
    gs.unsmoothed = measure(backend, g, original, x, float_outputs, stats, r.engine, r.mode, arithmetic, -1.0f);
    std::vector<std::vector<float>> s_of_alpha(o.alphas.size());  // the first fc's s at each α
    for (std::size_t a = 0; a < o.alphas.size(); ++a)
      gs.points.push_back(measure(backend, g, original, x, float_outputs, stats, r.engine, r.mode, arithmetic, o.alphas[a],
                                 &s_of_alpha[a]));
    std::vector<std::vector<const SweepPoint*>> per_alpha(o.alphas.size());
    for (std::size_t a = 0; a < o.alphas.size(); ++a) per_alpha[a] = {&gs.points[a]};
    gs.best_alpha = best_of(per_alpha, o.alphas, o.alpha_min, o.alpha_max);
    gs.input_absmax = stats.linears.at(g.fcs.front()).absmax;
    for (std::size_t a = 0; a < o.alphas.size(); ++a)
      if (o.alphas[a] == gs.best_alpha) gs.s_at_best = s_of_alpha[a];
    r.groups.push_back(std::move(gs));
    if (progress) progress(static_cast<double>(gi + 1) / groups.size(), "sweep");
  }

  std::map<std::string, std::vector<std::vector<const SweepPoint*>>> per_layer;
  std::vector<std::vector<const SweepPoint*>> all(o.alphas.size());
  for (const GroupSweep& gs : r.groups) {
    auto& layer = per_layer[layer_of(gs.group.fcs.front())];
    layer.resize(o.alphas.size());
    for (std::size_t a = 0; a < o.alphas.size(); ++a) {
      layer[a].push_back(&gs.points[a]);
      all[a].push_back(&gs.points[a]);
    }
  }
  for (const auto& [layer, points] : per_layer) r.best_per_layer[layer] = best_of(points, o.alphas, o.alpha_min, o.alpha_max);
  r.best_global = best_of(all, o.alphas, o.alpha_min, o.alpha_max);
  return r;
}

namespace {

nlohmann::json point_json(const SweepPoint& p) {
  const auto finite = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json("inf"); };
  nlohmann::json j = {{"sqnr_db", finite(p.sqnr_db)},
                      {"rel_mse", p.rel_mse},
                      {"cosine", p.cosine},
                      {"weight_only_sqnr_db", finite(p.weight_only_sqnr_db)},
                      {"activation_only_sqnr_db", finite(p.activation_only_sqnr_db)}};
  if (p.alpha >= 0) j["alpha"] = p.alpha;
  return j;
}

const char* kCriterion =
    "the grid's alpha within [alpha_min, alpha_max] with the highest W8A8 output SQNR on the calibration activations "
    "(per group; per layer and global: of the groups' summed signal and noise); a tie goes to the alpha nearer 0.5";

}  // namespace

nlohmann::json to_json(const SweepResult& r) {
  nlohmann::json groups = nlohmann::json::array();
  for (const GroupSweep& g : r.groups) {
    nlohmann::json points = nlohmann::json::array();
    for (const SweepPoint& p : g.points) points.push_back(point_json(p));
    groups.push_back({{"source", g.group.source},
                      {"fcs", g.group.fcs},
                      {"layer", layer_of(g.group.fcs.front())},
                      {"best_alpha", g.best_alpha},
                      {"input_absmax", g.input_absmax},
                      {"s_at_best", g.s_at_best},
                      {"unsmoothed", point_json(g.unsmoothed)},
                      {"points", points}});
  }
  return {{"schema", "smoothcheck.sweep/1"},
          {"engine", to_string(r.engine.engine)},
          {"recipe", to_string(r.engine.recipe)},
          {"mode", to_string(r.mode)},
          {"weight_variant", to_string(r.engine.weight_variant)},
          {"epilogue", to_string(r.engine.epilogue)},
          {"tokens", r.tokens},
          {"criterion", kCriterion},
          {"alpha_min", r.alpha_min},
          {"alpha_max", r.alpha_max},
          {"best_global", r.best_global},
          {"best_per_layer", r.best_per_layer},
          {"groups", groups}};
}

nlohmann::json alphas_json(const SweepResult& r) {
  nlohmann::json per_group = nlohmann::json::object();
  for (const GroupSweep& g : r.groups) per_group[g.group.source + " -> " + g.group.fcs.front()] = g.best_alpha;
  return {{"schema", "smoothcheck.alphas/1"},
          {"engine", to_string(r.engine.engine)},
          {"recipe", to_string(r.engine.recipe)},
          {"criterion", kCriterion},
          {"per_group", per_group},
          {"per_layer", r.best_per_layer},
          {"global", r.best_global}};
}

}  // namespace smoothcheck::pipeline
