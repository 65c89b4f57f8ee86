// The BERT encoder family (transformers' BertModel names, all-MiniLM-L6-v2): post-LN blocks with GELU;
// 6 quantised linears per layer. Only migration mode is exact (bert_layout.h says why), calibration
// reads real English text through the model's own WordPiece vocabulary (bert_calibrate.h), and verify
// ends with the sentence embeddings of held-out text.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/models/bert.h"
#include "harness/pipeline/bert_calibrate.h"
#include "harness/pipeline/bert_layout.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/w8a8_linears.h"

namespace smoothcheck::pipeline {

namespace {

struct EmbeddingAgreement {
  double min_cosine = 1, mean_cosine = 0, max_abs_delta = 0;
};

// Both models' embeddings are unit vectors, so their dot product is the cosine.
EmbeddingAgreement compare_embeddings(const models::BertModel& original, const models::BertModel& quantized,
                                      const models::BertHooks& hooks, const std::vector<tokenizer::TextChunk>& chunks) {
  EmbeddingAgreement a;
  for (const auto& chunk : chunks) {
    const at::Tensor e0 = original.sentence_embedding(chunk.ids).to(at::kDouble);
    const at::Tensor e1 = quantized.sentence_embedding(chunk.ids, hooks).to(at::kDouble);
    const double cosine = (e0 * e1).sum().item<double>();
    a.min_cosine = std::min(a.min_cosine, std::isfinite(cosine) ? cosine : -1.0);
    a.mean_cosine += cosine / static_cast<double>(chunks.size());
    a.max_abs_delta = std::max(a.max_abs_delta, (e0 - e1).abs().max().item<double>());
  }
  return a;
}

// The same model with the matmuls of `linears` replaced by the W8A8 (or weight-only) runtime.
models::BertHooks w8a8_hooks(const W8A8Linears& linears) {
  models::BertHooks hooks;
  hooks.replace_matmul = [&linears](const std::string& name, const at::Tensor& x) { return linears.matmul(name, x); };
  return hooks;
}

class BertFamily final : public ModelFamily {
 public:
  BertFamily(checkpoint::ModelDir dir, const nlohmann::json& config)
      : ModelFamily(std::move(dir)),
        json_(config),
        config_(models::parse_bert_config(config, *this->dir().config_json)),
        prefix_(bert_prefix(checkpoint())) {}

  const char* name() const override { return "bert"; }

  // The linears' dtype (the embeddings' may differ in a mixed export; smoothing works on the linears).
  DType stored_dtype() const override {
    const std::string probe = linears().front().name + ".weight";
    return checkpoint().contains(probe) ? checkpoint().info(probe).dtype : DType::f32;
  }
  std::vector<QuantizedLinear> linears() const override { return bert_quantized_linears(config_, prefix_); }
  std::vector<NormSpec> norms() const override { return bert_norms(config_, prefix_); }
  std::vector<SmoothingGroup> smoothing_groups(SmoothMode mode, bool) const override {
    return bert_smoothing_groups(config_, prefix_, mode);
  }
  bool recorded_fc_to_fc_pairs(bool) const override { return true; }  // the groups are smoothcheck's own
  std::string inexact_mode_reason(SmoothMode mode) const override {
    if (mode == SmoothMode::migration) return "";
    return std::string("a ") + to_string(mode) + "-mode BERT export cannot be exact (post-LayerNorm); only migration mode is";
  }
  std::vector<StackedGroup> stacked_groups() const override { return bert_stacked_groups(config_, prefix_); }
  std::vector<ExportTensor> export_tensors(bool with_migration_scales) const override {
    return bert_export_tensors(checkpoint(), linears(), with_migration_scales);
  }
  nlohmann::json export_config() const override { return json_; }

  void require_same_model(const ModelFamily& quantized) const override {
    const auto* other = dynamic_cast<const BertFamily*>(&quantized);
    if (!other) different_model(quantized);
    const models::BertConfig& q = other->config_;
    const models::BertConfig& c = config_;
    if (q.hidden_size != c.hidden_size || q.intermediate_size != c.intermediate_size ||
        q.num_hidden_layers != c.num_hidden_layers || q.vocab_size != c.vocab_size ||
        q.num_attention_heads != c.num_attention_heads)
      different_model(quantized);
  }

  CalibrationStats calibrate(kernels::Backend& backend, const CalibrationOptions& o,
                             const CalibrationProgress& progress) const override {
    return calibrate_bert(dir(), config_, backend, corpus_options(o), progress);
  }

  void calibration_inputs(const CalibrationOptions& o, const CalibrationProgress& progress,
                          const std::function<void(const std::string&, const at::Tensor&)>& on_linear_input)
      const override {
    run_bert_calibration_forward(dir(), config_, corpus_options(o), progress,
                                 [&](const std::string& name, const at::Tensor& x) {
                                   on_linear_input(name, x.reshape({-1, x.size(-1)}).to(at::kFloat).contiguous());
                                 });
  }

  std::vector<std::vector<int64_t>> heldout_sequences(const HeldOutOptions& o) const override {
    BertCorpusOptions co;
    co.seq_len = o.tokens;
    if (!o.corpus.empty()) co.files = o.corpus;
    const std::vector<tokenizer::TextChunk> chunks = bert_corpus_chunks(dir(), config_, co);
    // From the end, at most half the corpus: calibration takes its first half at most.
    const std::size_t wanted = static_cast<std::size_t>(std::max<int64_t>(o.sequences, 0));
    const std::size_t n = std::min(wanted, chunks.size() / 2);
    if (n == 0) throw std::invalid_argument("held-out text: the corpus has too few chunks to hold any out");
    std::vector<std::vector<int64_t>> out;
    for (std::size_t i = chunks.size() - n; i < chunks.size(); ++i) out.push_back(chunks[i].ids);
    return out;
  }

  // Migration mode (the only exact one for BERT): every linear reads x itself, so a float linear is the
  // original weight, and an int8 one divides x by its migration scale at run time (W8A8Linears).
  PartlyQuantized partly_quantized_models(const checkpoint::Checkpoint& quantized, const QuantizationConfig& qc,
                                          kernels::Backend& backend) const override {
    if (qc.mode != SmoothMode::migration) throw std::invalid_argument(inexact_mode_reason(qc.mode));
    struct Loaded {
      models::BertModel model;
      W8A8Linears int8;
      std::map<std::string, at::Tensor> float_weights;
    };
    auto loaded = std::make_shared<Loaded>(
        Loaded{models::BertModel(quantized, config_, DType::f32, /*load_linear_weights=*/false),
               W8A8Linears(quantized, linears(), qc, backend), {}});
    for (const QuantizedLinear& l : linears())
      loaded->float_weights[l.name] = checkpoint().tensor(l.name + ".weight").to(at::kFloat).contiguous();
    return [loaded](const std::set<std::string>& int8_linears) -> Forward {
      return [loaded, int8_linears](const at::Tensor& tokens) {
        models::BertHooks hooks;
        hooks.replace_matmul = [&](const std::string& name, const at::Tensor& x) {
          return int8_linears.count(name) ? loaded->int8.matmul(name, x) : at::linear(x, loaded->float_weights.at(name));
        };
        return loaded->model.forward(tokens, {}, {}, hooks);
      };
    };
  }

  at::Tensor forward(const at::Tensor& tokens) const override {
    return models::BertModel(checkpoint(), config_, DType::f32).forward(tokens);
  }

  ForwardComparison forward_comparison() const override { return ForwardComparison::sentence_embeddings; }
  bool forward_check_optional() const override { return false; }

  // Sentence embeddings of held-out text: the corpus's last chunks (calibration takes its first).
  void check_forward(kernels::Backend& backend, const ModelFamily& quantized, const QuantizationConfig& qc,
                     const VerifyOptions& o, VerifyReport& r) const override {
    BertCorpusOptions co;
    co.seq_len = o.seq_len;
    const std::vector<tokenizer::TextChunk> chunks = bert_corpus_chunks(dir(), config_, co);
    const std::size_t n =
        std::min<std::size_t>(static_cast<std::size_t>(std::max<int64_t>(o.sentences, 1)), chunks.size() / 2);
    const std::vector<tokenizer::TextChunk> held_out(chunks.end() - static_cast<std::ptrdiff_t>(n), chunks.end());
    const models::BertModel original(checkpoint(), config_, DType::f32);
    // The quantised model's non-linear weights (embeddings, LayerNorms, biases), its own config: verify
    // has checked that it describes this model (require_same_model).
    const auto& other = dynamic_cast<const BertFamily&>(quantized);
    const models::BertModel w8a8_model(quantized.checkpoint(), other.config_, DType::f32, /*load_linear_weights=*/false);
    const std::vector<QuantizedLinear> qlinears = linears();
    const W8A8Linears w8a8(quantized.checkpoint(), qlinears, qc, backend);
    const EmbeddingAgreement full = compare_embeddings(original, w8a8_model, w8a8_hooks(w8a8), held_out);
    const W8A8Linears weight_only(quantized.checkpoint(), qlinears, qc, backend, /*int8_activations=*/false);
    r.sentences = static_cast<int64_t>(n);
    r.min_embedding_cosine = full.min_cosine;
    r.mean_embedding_cosine = full.mean_cosine;
    r.max_abs_embedding_delta = full.max_abs_delta;
    r.weight_only_min_embedding_cosine =
        compare_embeddings(original, w8a8_model, w8a8_hooks(weight_only), held_out).min_cosine;
    if (!(r.min_embedding_cosine >= o.thresholds.min_embedding_cosine))
      r.failures.push_back("forward: sentence-embedding cosine " + std::to_string(r.min_embedding_cosine) + " < " +
                           std::to_string(o.thresholds.min_embedding_cosine) + " on a held-out chunk");
  }

 private:
  static BertCorpusOptions corpus_options(const CalibrationOptions& o) {
    if (o.tokens) throw std::invalid_argument("--tokens is for LLaMA models; BERT calibrates on text (--corpus)");
    BertCorpusOptions bo;
    bo.samples = o.samples;
    bo.seq_len = o.seq_len;
    if (!o.corpus.empty()) bo.files = o.corpus;
    return bo;
  }

  nlohmann::json json_;
  models::BertConfig config_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<ModelFamily> open_bert_family(checkpoint::ModelDir dir, const nlohmann::json& config) {
  return std::make_unique<BertFamily>(std::move(dir), config);
}

}  // namespace smoothcheck::pipeline
