#include "harness/pipeline/bert_calibrate.h"

#include <set>
#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/models/bert.h"
#include "harness/pipeline/bert_layout.h"
#include "harness/pipeline/linear_input_stats.h"

namespace smoothcheck::pipeline {

std::vector<tokenizer::TextChunk> bert_corpus_chunks(const checkpoint::ModelDir& model, const models::BertConfig& config,
                                                     const BertCorpusOptions& o) {
  const std::filesystem::path vocab = model.dir / "vocab.txt";
  if (!std::filesystem::is_regular_file(vocab))
    throw checkpoint::CheckpointError(model.dir, "has no vocab.txt: a BERT model needs its WordPiece vocabulary");
  if (o.seq_len < 3 || o.seq_len > config.max_position_embeddings)
    throw std::invalid_argument("--seq-len " + std::to_string(o.seq_len) + " outside [3, max_position_embeddings " +
                                std::to_string(config.max_position_embeddings) + "]");
  const auto tok = tokenizer::WordPieceTokenizer::from_file(vocab);
  return tokenizer::calibration_chunks(tok, static_cast<std::size_t>(o.seq_len), o.files);
}

BertCalibrationPass run_bert_calibration_forward(const checkpoint::ModelDir& model, const models::BertConfig& config,
                                                 const BertCorpusOptions& o, const CalibrationProgress& progress,
                                                 const models::LinearInputHook& on_linear_input) {
  const std::vector<tokenizer::TextChunk> chunks = bert_corpus_chunks(model, config, o);
  // Half the corpus at most, so that the held-out chunks from the end stay unseen.
  if (o.samples > static_cast<int64_t>(chunks.size() / 2))
    throw std::invalid_argument("--samples " + std::to_string(o.samples) + " exceeds half the corpus (" +
                                std::to_string(chunks.size()) + " chunks of at most " + std::to_string(o.seq_len) +
                                " tokens); the other half is held out for verify");
  const models::BertModel bert(*model.checkpoint, config, DType::f32);
  models::BertHooks hooks;
  hooks.on_linear_input = on_linear_input;
  BertCalibrationPass pass;
  pass.corpus_chunks = chunks.size();
  for (int64_t i = 0; i < o.samples; ++i) {
    bert.forward(at::tensor(chunks[static_cast<std::size_t>(i)].ids, at::kLong), {}, {}, hooks);
    pass.tokens += static_cast<int64_t>(chunks[static_cast<std::size_t>(i)].ids.size());
    if (progress && ((i + 1) % 8 == 0 || i + 1 == o.samples))
      progress(static_cast<double>(i + 1) / static_cast<double>(o.samples), "statistics");
  }
  return pass;
}

CalibrationStats calibrate_bert(const checkpoint::ModelDir& model, const models::BertConfig& config,
                                kernels::Backend& backend, const BertCorpusOptions& o,
                                const CalibrationProgress& progress) {
  std::set<std::string> names;
  const std::string prefix = bert_prefix(*model.checkpoint);
  for (const QuantizedLinear& q : bert_quantized_linears(config, prefix)) names.insert(q.name);
  LinearInputStats stats(backend, names);
  const BertCalibrationPass pass = run_bert_calibration_forward(
      model, config, o, progress, [&](const std::string& name, const at::Tensor& x) { stats.record(name, x); });
  CalibrationStats out = stats.result();
  std::string files;
  for (const auto& f : o.files) files += (files.empty() ? "" : ", ") + f.string();
  out.metadata = {{"samples", std::to_string(o.samples)},
                  {"seq_len", std::to_string(o.seq_len)},
                  {"tokens", std::to_string(pass.tokens)},
                  {"corpus", files},
                  {"corpus_chunks", std::to_string(pass.corpus_chunks)},
                  {"sampling", "the first samples chunks of the corpus, one batch each"},
                  {"batches_per_linear", std::to_string(o.samples)}};
  return out;
}

}  // namespace smoothcheck::pipeline
