#include "harness/pipeline/bert_verify.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/models/bert.h"
#include "harness/pipeline/bert_calibrate.h"
#include "harness/pipeline/bert_layout.h"
#include "harness/pipeline/export_checks.h"
#include "harness/pipeline/smooth_model.h"
#include "harness/pipeline/stacked_scales.h"
#include "harness/pipeline/verify_rederivation.h"
#include "harness/pipeline/w8a8_linears.h"

namespace smoothcheck::pipeline {

namespace {

using checkpoint::CheckpointError;

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

}  // namespace

VerifyReport verify_bert_export(kernels::Backend& backend, const VerifyOptions& o, const checkpoint::ModelDir& orig,
                                const checkpoint::ModelDir& quant) {
  c10::InferenceMode guard;
  VerifyReport r;
  r.architecture = Architecture::bert;
  r.thresholds = o.thresholds;
  const models::BertConfig config = models::read_bert_config(*orig.config_json);
  r.quantization = require_export_quantization_config(quant.dir, quant.config_json);
  const QuantizationConfig& qc = r.quantization;
  const models::BertConfig qconfig = models::read_bert_config(*quant.config_json);
  if (qconfig.hidden_size != config.hidden_size || qconfig.intermediate_size != config.intermediate_size ||
      qconfig.num_hidden_layers != config.num_hidden_layers || qconfig.vocab_size != config.vocab_size ||
      qconfig.num_attention_heads != config.num_attention_heads)
    throw CheckpointError(*quant.config_json, "describes a different model than " + o.original.string());
  const std::string prefix = bert_prefix(*orig.checkpoint);
  const std::vector<QuantizedLinear> linears = bert_quantized_linears(config, prefix);

  // 1. Layout.
  const std::vector<ExportTensor> expected = bert_export_tensors(*orig.checkpoint, linears, qc.migration_scales);
  check_layout(*quant.checkpoint, expected, orig.checkpoint->opaque_tensors(), r);
  if (!r.failures.empty()) return r;
  r.ran.insert("layout");
  if (qc.mode != SmoothMode::migration) {
    r.failures.push_back(std::string("mapping: a ") + to_string(qc.mode) +
                         "-mode BERT export cannot be exact (post-LayerNorm); only migration mode is");
    return r;
  }
  if (!qc.migration_scales) {
    r.failures.push_back("weights: the export carries no migration scales, so its weights cannot be un-smoothed");
    return r;
  }

  // 2. The stacked qkv loader.
  try {
    load_stacked_migration_scales(*quant.checkpoint, bert_stacked_groups(config, prefix));
  } catch (const CheckpointError& e) {
    r.failures.push_back(std::string("loader: ") + e.what());
  }
  r.ran.insert("loader");
  std::optional<CalibrationStats> stats;
  if (o.stats) stats = read_calibration_stats(*o.stats, linears);

  // 3. Weights, and everything migration mode must leave alone.
  const FloatWeights ow = load_float_weights(*orig.checkpoint, linears, bert_norms(config, prefix));
  const std::vector<SmoothingGroup> groups = bert_smoothing_groups(config, prefix, qc.mode);
  const std::map<std::string, std::vector<float>> s = stored_migration_scales(*quant.checkpoint, ow);
  // The dtype smoothing rounded to: the linears' stored dtype under model_dtype arithmetic (quantize's
  // prepare_bert takes the model dtype from them too).
  const DType arithmetic =
      smoothing_dtype(qc.smoothing_arithmetic, orig.checkpoint->info(linears.front().name + ".weight").dtype);
  check_quantized_linears(*quant.checkpoint, ow, s, fused_row_divisors(groups, qc.mode), qc.weight_variant, arithmetic,
                          o.thresholds.max_weight_error_over_bound, r);
  check_migration_scales(ow, groups, s, stats ? &*stats : nullptr, qc, arithmetic, r);
  std::vector<std::string> names;
  for (const QuantizedLinear& q : linears) names.push_back(q.name);
  check_smoothing_applied(*quant.checkpoint, names, qc, r);
  r.ran.insert("smoothing");
  std::set<std::string> quantised;
  for (const QuantizedLinear& q : linears) quantised.insert(q.name + ".weight");
  for (const std::string& name : orig.checkpoint->tensor_names())
    if (!quantised.count(name) && !at::equal(quant.checkpoint->tensor(name), orig.checkpoint->tensor(name)))
      r.failures.push_back("unquantised: " + name + " differs from the original");
  r.ran.insert("unquantised");

  // 4. Sentence embeddings of held-out text: the corpus's last chunks (calibration takes its first).
  BertCorpusOptions co;
  co.seq_len = o.seq_len;
  const std::vector<tokenizer::TextChunk> chunks = bert_corpus_chunks(orig, co);
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(std::max<int64_t>(o.sentences, 1)), chunks.size() / 2);
  const std::vector<tokenizer::TextChunk> held_out(chunks.end() - static_cast<std::ptrdiff_t>(n), chunks.end());
  const models::BertModel original(*orig.checkpoint, config, DType::f32);
  const models::BertModel quantized(*quant.checkpoint, qconfig, DType::f32, /*load_linear_weights=*/false);
  const W8A8Linears w8a8(*quant.checkpoint, linears, qc, backend);
  models::BertHooks hooks;
  hooks.replace_matmul = [&](const std::string& name, const at::Tensor& x) { return w8a8.matmul(name, x); };
  const EmbeddingAgreement full = compare_embeddings(original, quantized, hooks, held_out);
  const W8A8Linears weight_only(*quant.checkpoint, linears, qc, backend, /*int8_activations=*/false);
  models::BertHooks wo_hooks;
  wo_hooks.replace_matmul = [&](const std::string& name, const at::Tensor& x) { return weight_only.matmul(name, x); };
  r.sentences = static_cast<int64_t>(n);
  r.min_embedding_cosine = full.min_cosine;
  r.mean_embedding_cosine = full.mean_cosine;
  r.max_abs_embedding_delta = full.max_abs_delta;
  r.weight_only_min_embedding_cosine = compare_embeddings(original, quantized, wo_hooks, held_out).min_cosine;
  if (!(r.min_embedding_cosine >= o.thresholds.min_embedding_cosine))
    r.failures.push_back("forward: sentence-embedding cosine " + std::to_string(r.min_embedding_cosine) + " < " +
                         std::to_string(o.thresholds.min_embedding_cosine) + " on a held-out chunk");
  r.ran.insert("forward");
  return r;
}

}  // namespace smoothcheck::pipeline
