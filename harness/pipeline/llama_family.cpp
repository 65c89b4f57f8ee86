// The LLaMA family (transformers' LlamaForCausalLM names; a llama2.c file maps onto them): pre-norm
// RMSNorm blocks, SwiGLU, grouped-query attention; 7 quantised linears and 2 norms per layer, lm_head
// left in the model dtype. Smoothing follows lmdeploy's mapping (smooth_model.h), the export the seed's
// layout (quantized_layout.h), and verify ends with the logits of a sequence the original samples.
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/llama_config.h"
#include "harness/models/llama.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/linear_sqnr.h"
#include "harness/pipeline/logit_comparison.h"
#include "harness/pipeline/llama_layout.h"
#include "harness/pipeline/smooth_model.h"
#include "harness/pipeline/token_sampling.h"
#include "harness/pipeline/verify_rederivation.h"
#include "harness/pipeline/w8a8_linears.h"
#include "harness/pipeline/w8a8_llama.h"

namespace smoothcheck::pipeline {

namespace {

const char* torch_dtype_name(DType t) {
  switch (t) {
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f64: return "float64";
    default: return "float32";
  }
}

class LlamaFamily final : public ModelFamily {
 public:
  LlamaFamily(checkpoint::ModelDir dir, const nlohmann::json& config)
      : ModelFamily(std::move(dir)), json_(config), config_(read_config(this->dir(), config)) {}

  const char* name() const override { return "llama"; }
  DType stored_dtype() const override { return llama_stored_dtype(checkpoint()); }
  std::vector<QuantizedLinear> linears() const override { return quantized_linears(layout()); }
  std::vector<NormSpec> norms() const override { return llama_norms(config_); }
  std::vector<SmoothingGroup> smoothing_groups(SmoothMode mode, bool fc_to_fc_pairs) const override {
    return llama_model_groups(config_, checked_llama_plan(config_, mode, fc_to_fc_pairs));
  }
  bool recorded_fc_to_fc_pairs(bool requested) const override { return requested; }
  std::string inexact_mode_reason(SmoothMode) const override { return ""; }  // pre-norm: both modes are exact
  std::vector<StackedGroup> stacked_groups() const override { return llama_stacked_groups(config_); }
  std::vector<ExportTensor> export_tensors(bool with_migration_scales) const override {
    return quantized_export_tensors(layout(), with_migration_scales);
  }

  // The input's config.json, or for a llama2.c file one written from its header.
  nlohmann::json export_config() const override {
    if (dir().config_json) return json_;
    const checkpoint::LlamaConfig& c = config_;
    return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", c.hidden_size},
            {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_hidden_layers},
            {"num_attention_heads", c.num_attention_heads}, {"num_key_value_heads", c.num_key_value_heads},
            {"vocab_size", c.vocab_size}, {"max_position_embeddings", c.max_position_embeddings},
            {"rms_norm_eps", c.rms_norm_eps}, {"rope_theta", c.rope_theta}, {"hidden_act", "silu"},
            {"tie_word_embeddings", c.tie_word_embeddings}, {"torch_dtype", torch_dtype_name(stored_dtype())}};
  }

  void require_same_model(const ModelFamily& quantized) const override {
    const auto* other = dynamic_cast<const LlamaFamily*>(&quantized);
    if (!other) different_model(quantized);
    const checkpoint::LlamaConfig& q = other->config_;
    const checkpoint::LlamaConfig& c = config_;
    if (q.hidden_size != c.hidden_size || q.intermediate_size != c.intermediate_size ||
        q.num_hidden_layers != c.num_hidden_layers || q.num_attention_heads != c.num_attention_heads ||
        q.num_key_value_heads != c.num_key_value_heads || q.vocab_size != c.vocab_size ||
        q.tie_word_embeddings != c.tie_word_embeddings)
      different_model(quantized);
  }

  // Token sequences the model samples itself (stories260K ships without a tokenizer).
  CalibrationStats calibrate(kernels::Backend& backend, const CalibrationOptions& o,
                             const CalibrationProgress& progress) const override {
    if (!o.corpus.empty())
      throw std::invalid_argument("--corpus is for BERT models; LLaMA calibration samples its own text");
    return pipeline::calibrate(checkpoint(), config_, backend, o, progress);
  }

  void calibration_inputs(const CalibrationOptions& o, const CalibrationProgress& progress,
                          const std::function<void(const std::string&, const at::Tensor&)>& on_linear_input)
      const override {
    if (!o.corpus.empty())
      throw std::invalid_argument("--corpus is for BERT models; LLaMA calibration samples its own text");
    run_calibration_forward(checkpoint(), config_, o, progress, [&](const std::string& name, const at::Tensor& x) {
      if (name != "lm_head") on_linear_input(name, x.reshape({-1, x.size(-1)}).to(at::kFloat).contiguous());
    });
  }

  at::Tensor forward(const at::Tensor& tokens) const override {
    return models::LlamaModel(checkpoint(), config_, DType::f32).forward(tokens);
  }

  std::vector<std::vector<int64_t>> heldout_sequences(const HeldOutOptions& o) const override {
    if (!o.corpus.empty())
      throw std::invalid_argument("--corpus is for BERT models; LLaMA's held-out text is sampled from the model");
    const models::LlamaModel sampler(checkpoint(), config_, DType::f32);
    SamplingOptions so;
    so.sequences = o.sequences;
    so.length = o.tokens;
    so.seed = o.seed;
    return sample_sequences(sampler, so);
  }

  PartlyQuantized partly_quantized_models(const checkpoint::Checkpoint& quantized, const QuantizationConfig& qc,
                                          kernels::Backend& backend) const override {
    struct Loaded {
      LlamaNonLinearWeights non_linear;
      W8A8Linears int8;
      std::map<std::string, at::Tensor> float_weights;
    };
    auto loaded = std::make_shared<Loaded>(
        Loaded{load_non_linear_weights(quantized, config_), W8A8Linears(quantized, linears(), qc, backend), {}});
    const std::map<std::string, std::string> rows_divided_by =
        fused_row_divisors(smoothing_groups(qc.mode, qc.fc_to_fc_pairs), qc.mode);
    // The float linears in the export's space: fused, their input is already x / s, so the weight is
    // W·s (÷ d by rows for an fc -> fc source); migration, the input is x and the weight W itself.
    for (const QuantizedLinear& l : linears()) {
      at::Tensor wf = checkpoint().tensor(l.name + ".weight").to(at::kFloat);
      if (qc.mode == SmoothMode::fused) {
        wf = wf * quantized.tensor(l.name + ".migration_scale").to(at::kFloat);
        if (const auto d = rows_divided_by.find(l.name); d != rows_divided_by.end())
          wf = wf / quantized.tensor(d->second + ".migration_scale").to(at::kFloat).unsqueeze(1);
      }
      loaded->float_weights[l.name] = wf.contiguous();
    }
    return [this, loaded](const std::set<std::string>& int8_linears) -> Forward {
      return [this, loaded, int8_linears](const at::Tensor& tokens) {
        return llama_forward(
            config_, loaded->non_linear,
            [&](const std::string& name, const at::Tensor& x) {
              return int8_linears.count(name) ? loaded->int8.matmul(name, x) : at::linear(x, loaded->float_weights.at(name));
            },
            tokens);
      };
    };
  }

  ForwardComparison forward_comparison() const override { return ForwardComparison::logits; }
  bool forward_check_optional() const override { return true; }

  // The W8A8 logits against the float ones on text the original model writes itself.
  void check_forward(kernels::Backend& backend, const ModelFamily& quantized, const QuantizationConfig& qc,
                     const VerifyOptions& o, VerifyReport& r) const override {
    const models::LlamaModel original(checkpoint(), config_, DType::f32);
    SamplingOptions so;
    so.sequences = 1;
    so.length = o.tokens;
    so.seed = o.seed;
    const std::vector<int64_t> seq = sample_sequences(original, so).front();
    const at::Tensor tokens = at::tensor(seq, at::kLong);
    const at::Tensor lo = original.forward(tokens).to(at::kFloat);
    const at::Tensor lq = W8A8Llama(quantized.checkpoint(), config_, qc, backend).forward(tokens);
    r.tokens = static_cast<int64_t>(seq.size());
    const LogitComparison c = compare_logits(lo, lq, seq);
    r.max_abs_logit_delta = c.max_abs_logit_delta;
    r.argmax_agreement = c.argmax_agreement;
    r.nll_original = c.nll_original;
    r.nll_quantized = c.nll_quantized;
    r.mean_token_kl = c.mean_token_kl;
    r.max_token_kl = c.max_token_kl;
    r.linear_sqnr = linear_output_sqnr(original, checkpoint(), tokens, quantized.checkpoint(), linears(),
                                       smoothing_groups(qc.mode, qc.fc_to_fc_pairs), qc, backend);
    const at::Tensor lw =
        W8A8Llama(quantized.checkpoint(), config_, qc, backend, /*int8_activations=*/false).forward(tokens);
    const LogitComparison weight_only = compare_logits(lo, lw, seq);
    r.weight_only_max_abs_logit_delta = weight_only.max_abs_logit_delta;
    r.weight_only_argmax_agreement = weight_only.argmax_agreement;
    r.weight_only_nll = weight_only.nll_quantized;
    const VerifyThresholds& t = o.thresholds;
    if (!std::isfinite(r.max_abs_logit_delta) || r.max_abs_logit_delta > t.max_abs_logit_delta)
      r.failures.push_back("forward: max |Δlogit| " + std::to_string(r.max_abs_logit_delta) + " > " +
                           std::to_string(t.max_abs_logit_delta));
    if (!(r.argmax_agreement >= t.min_argmax_agreement))
      r.failures.push_back("forward: argmax agreement " + std::to_string(r.argmax_agreement) + " < " +
                           std::to_string(t.min_argmax_agreement));
    if (!(r.nll_quantized - r.nll_original <= t.max_nll_increase))
      r.failures.push_back("forward: mean NLL rose from " + std::to_string(r.nll_original) + " to " +
                           std::to_string(r.nll_quantized) + " (> " + std::to_string(t.max_nll_increase) +
                           " nats/token)");
  }

 private:
  static checkpoint::LlamaConfig read_config(const checkpoint::ModelDir& dir, const nlohmann::json& config) {
    if (dir.config_json) return checkpoint::parse_llama_config(config, *dir.config_json);
    if (auto c = dir.checkpoint->embedded_config()) return *c;
    throw checkpoint::CheckpointError(dir.dir, "has no config.json, and its checkpoint does not imply a configuration");
  }

  // The layout in the stored dtype: the bytes decide, whatever config.json's torch_dtype says.
  QuantizedLayoutConfig layout() const {
    const DType dtype = stored_dtype();
    QuantizedLayoutConfig lc = layout_config_from(config_, dtype);
    lc.dtype = dtype;
    return lc;
  }

  nlohmann::json json_;
  checkpoint::LlamaConfig config_;
};

}  // namespace

std::unique_ptr<ModelFamily> open_llama_family(checkpoint::ModelDir dir, const nlohmann::json& config) {
  return std::make_unique<LlamaFamily>(std::move(dir), config);
}

}  // namespace smoothcheck::pipeline
