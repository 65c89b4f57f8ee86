#include "harness/pipeline/verify.h"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/torch_dtype.h"
#include "harness/models/llama.h"
#include "harness/pipeline/bert_verify.h"
#include "harness/pipeline/export_checks.h"
#include "harness/pipeline/model_architecture.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/smooth_model.h"
#include "harness/pipeline/stacked_scales.h"
#include "harness/pipeline/token_sampling.h"
#include "harness/pipeline/verify_rederivation.h"
#include "harness/pipeline/w8a8_llama.h"
#include "reference/reference.h"
#include "harness/quantized_layout.h"

namespace smoothcheck::pipeline {

namespace {

using checkpoint::CheckpointError;

double mean_nll(const at::Tensor& logits, const std::vector<int64_t>& seq) {
  const at::Tensor lp = at::log_softmax(logits.to(at::kDouble), -1);
  double sum = 0;
  for (std::size_t t = 0; t + 1 < seq.size(); ++t) sum -= lp[t][seq[t + 1]].item<double>();
  return sum / static_cast<double>(seq.size() - 1);
}

// Step 3 for one layer: its linears' reconstruction (fused fc->fc: un-divided by the next group's s),
// the re-derivation of its stored numbers (layer_groups: the layer's smoothing groups, full names), and
// its norms (migration: bit-identical; fused: original / s within one rounding to the dtype).
void check_llama_layer(const checkpoint::Checkpoint& orig, const checkpoint::Checkpoint& quant,
                       const std::vector<QuantizedLinear>& linears, const std::vector<NormSpec>& norms,
                       const std::vector<SmoothingGroup>& layer_groups,
                       const CalibrationStats* stats, const QuantizationConfig& qc, DType dtype,
                       const VerifyThresholds& thresholds, FloatBufferPool& pool, VerifyReport& r) {
  const SmoothMode mode = qc.mode;
  const DType arithmetic = smoothing_dtype(qc.smoothing_arithmetic, dtype);
  FloatWeights ow = load_float_weights(orig, linears, norms, &pool);
  const std::map<std::string, std::vector<float>> s = stored_migration_scales(quant, ow);
  check_quantized_linears(quant, ow, s, fused_row_divisors(layer_groups, mode), qc.weight_variant, arithmetic,
                          thresholds.max_weight_error_over_bound, r);
  check_migration_scales(ow, layer_groups, s, stats, qc, arithmetic, r);
  // Unquantised tensors: untouched, except fused norms = original / s (one rounding to the dtype).
  for (const auto& [norm, w] : ow.norms) {
    const std::string name = norm + ".weight";
    const at::Tensor got = quant.tensor(name);
    if (mode == SmoothMode::migration) {
      if (!at::equal(got, orig.tensor(name))) r.failures.push_back("unquantised: " + name + " was modified");
      continue;
    }
    std::string first_fc;
    for (const SmoothingGroup& g : layer_groups)
      if (g.kind == SourceKind::norm && g.source == norm) first_fc = g.fcs.front();
    const std::vector<float> gv = f32_vector(got);
    const std::vector<float>& sv = s.at(first_fc);
    // float32 arithmetic: the f32 quotient, then one rounding to the dtype. In the model's dtype the
    // engines' own two roundings of the quotient (to f32, then to the dtype), exactly.
    const double tol = arithmetic == DType::f32 ? unit_roundoff(dtype) + 2 * 0x1.0p-24 : 0.0;
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
  for (const std::string& name : verify_check_names()) {
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
  j["architecture"] = to_string(architecture);
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
  if (architecture == Architecture::bert) {
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
                  {"weight_only", {{"max_abs_logit_delta", weight_only_max_abs_logit_delta},
                                   {"argmax_agreement", weight_only_argmax_agreement},
                                   {"nll", weight_only_nll}}}};
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
  const checkpoint::ModelDir orig = checkpoint::open_model_dir(o.original);
  const checkpoint::ModelDir quant = checkpoint::open_model_dir(o.quantized);
  if (model_architecture(orig) == Architecture::bert) {
    if (!o.forward) throw std::invalid_argument("--no-forward applies to LLaMA exports; BERT's forward check always runs");
    return verify_bert_export(backend, o, orig, quant);
  }
  const checkpoint::LlamaConfig config = checkpoint::llama_config(orig);
  r.quantization = require_export_quantization_config(quant.dir, quant.config_json);
  const QuantizationConfig& qc = r.quantization;
  const checkpoint::LlamaConfig qconfig = checkpoint::read_llama_config(*quant.config_json);
  if (qconfig.hidden_size != config.hidden_size || qconfig.intermediate_size != config.intermediate_size ||
      qconfig.num_hidden_layers != config.num_hidden_layers || qconfig.num_attention_heads != config.num_attention_heads ||
      qconfig.num_key_value_heads != config.num_key_value_heads || qconfig.vocab_size != config.vocab_size ||
      qconfig.tie_word_embeddings != config.tie_word_embeddings)
    throw CheckpointError(*quant.config_json, "describes a different model than " + o.original.string());

  // 1. Layout, in the original's stored dtype (unquantised tensors keep it).
  const DType dtype = llama_stored_dtype(*orig.checkpoint);
  QuantizedLayoutConfig lc = layout_config_from(config, dtype);
  lc.dtype = dtype;
  check_layout(*quant.checkpoint, quantized_export_tensors(lc, qc.migration_scales), orig.checkpoint->opaque_tensors(), r);
  if (!r.failures.empty()) return r;  // later checks would only repeat the layout's problems
  r.ran.insert("layout");
  if (!qc.migration_scales) {
    r.failures.push_back("weights: the export carries no migration scales, so its weights cannot be un-smoothed");
    return r;
  }

  // 2. The stacked-parameter loader.
  try {
    load_stacked_migration_scales(*quant.checkpoint, config);
  } catch (const CheckpointError& e) {
    r.failures.push_back(std::string("loader: ") + e.what());
  }
  r.ran.insert("loader");
  std::optional<CalibrationStats> stats;
  if (o.stats) stats = read_calibration_stats(*o.stats, config);

  // 3. Weights against the original, one layer at a time: memory holds a layer's float32 weights, not
  // the model's.
  const SmoothingPlan plan = checked_llama_plan(config, qc.mode, qc.fc_to_fc_pairs);
  const std::vector<QuantizedLinear> linears = quantized_linears(lc);
  const std::vector<NormSpec> norms = llama_norms(config);
  const std::vector<SmoothingGroup> groups = llama_model_groups(config, plan);
  {
    FloatBufferPool pool;  // one layer's float32 buffers, reused by the next; freed before the embeddings
    for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
      const std::vector<QuantizedLinear> layer_linears(linears.begin() + 7 * l, linears.begin() + 7 * (l + 1));
      const std::vector<NormSpec> layer_norms(norms.begin() + 2 * l, norms.begin() + 2 * (l + 1));
      std::vector<SmoothingGroup> layer_groups;
      for (const SmoothingGroup& g : groups)
        if (g.fcs.front().compare(0, layer_prefix(l).size(), layer_prefix(l)) == 0) layer_groups.push_back(g);
      check_llama_layer(*orig.checkpoint, *quant.checkpoint, layer_linears, layer_norms, layer_groups,
                        stats ? &*stats : nullptr, qc, dtype, o.thresholds, pool, r);
    }
  }
  {
    std::vector<std::string> names;
    for (const QuantizedLinear& q : linears) names.push_back(q.name);
    check_smoothing_applied(*quant.checkpoint, names, qc, r);
    r.ran.insert("smoothing");
  }
  for (const char* name : {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"})
    if (orig.checkpoint->contains(name) || quant.checkpoint->contains(name))
      if (!config.tie_word_embeddings || std::string(name) != "lm_head.weight")
        if (!at::equal(quant.checkpoint->tensor(name), orig.checkpoint->tensor(name).to(checkpoint::to_scalar_type(dtype))))
          r.failures.push_back(std::string("unquantised: ") + name + " differs from the original");
  r.ran.insert("unquantised");

  // 4. The W8A8 forward against the float one, on text the original model writes itself.
  if (!o.forward) {
    r.forward_skipped = true;
    r.not_run["forward"] = "--no-forward";
    return r;
  }
  const models::LlamaModel original(*orig.checkpoint, config, DType::f32);
  SamplingOptions so;
  so.sequences = 1;
  so.length = o.tokens;
  so.seed = o.seed;
  const std::vector<int64_t> seq = sample_sequences(original, so).front();
  const at::Tensor tokens = at::tensor(seq, at::kLong);
  const at::Tensor lo = original.forward(tokens).to(at::kFloat);
  const W8A8Llama w8a8(*quant.checkpoint, config, qc, backend);
  const at::Tensor lq = w8a8.forward(tokens);
  r.tokens = static_cast<int64_t>(seq.size());
  r.max_abs_logit_delta = (lq - lo).abs().max().item<double>();
  r.argmax_agreement = lo.argmax(-1).eq(lq.argmax(-1)).to(at::kDouble).mean().item<double>();
  r.nll_original = mean_nll(lo, seq);
  r.nll_quantized = mean_nll(lq, seq);
  const at::Tensor lw = W8A8Llama(*quant.checkpoint, config, qc, backend, /*int8_activations=*/false).forward(tokens);
  r.weight_only_max_abs_logit_delta = (lw - lo).abs().max().item<double>();
  r.weight_only_argmax_agreement = lo.argmax(-1).eq(lw.argmax(-1)).to(at::kDouble).mean().item<double>();
  r.weight_only_nll = mean_nll(lw, seq);
  if (!std::isfinite(r.max_abs_logit_delta) || r.max_abs_logit_delta > o.thresholds.max_abs_logit_delta)
    r.failures.push_back("forward: max |Δlogit| " + std::to_string(r.max_abs_logit_delta) + " > " +
                         std::to_string(o.thresholds.max_abs_logit_delta));
  if (!(r.argmax_agreement >= o.thresholds.min_argmax_agreement))
    r.failures.push_back("forward: argmax agreement " + std::to_string(r.argmax_agreement) + " < " +
                         std::to_string(o.thresholds.min_argmax_agreement));
  if (!(r.nll_quantized - r.nll_original <= o.thresholds.max_nll_increase))
    r.failures.push_back("forward: mean NLL rose from " + std::to_string(r.nll_original) + " to " +
                         std::to_string(r.nll_quantized) + " (> " + std::to_string(o.thresholds.max_nll_increase) +
                         " nats/token)");
  r.ran.insert("forward");
  return r;
}

}  // namespace smoothcheck::pipeline
