// Calibration of a BERT encoder (numerics.md §1) on real English text: Debian's licence texts
// (tokenizer/text_corpus.h) tokenised with the model's own WordPiece vocabulary, packed into chunks of at
// most seq_len tokens. Each chunk is one batch, as each calibration window is one batch in lmdeploy, and
// the statistics come from the production backend's channel_stats kernel (linear_input_stats.h).
//
// The corpus is split once for all: calibration takes chunks from its start, `verify` holds out chunks
// from its end, so the end-to-end check never runs on text the statistics saw.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "harness/checkpoint/model_dir.h"
#include "harness/models/bert.h"
#include "harness/pipeline/calibrate.h"
#include "harness/tokenizer/text_corpus.h"

namespace smoothcheck::pipeline {

struct BertCorpusOptions {
  int64_t samples = 32;   // calibration chunks (from the start of the corpus)
  int64_t seq_len = 128;  // tokens per chunk at most, [CLS] and [SEP] included
  std::vector<std::filesystem::path> files = tokenizer::debian_license_texts();
};

// The corpus chunks of a model directory (its vocab.txt) of this config. Throws CheckpointError naming the
// directory when it has no vocab.txt, and std::invalid_argument when seq_len is outside
// [3, max_position_embeddings].
std::vector<tokenizer::TextChunk> bert_corpus_chunks(const checkpoint::ModelDir& model, const models::BertConfig& config,
                                                     const BertCorpusOptions& o);

// The calibration set's forward passes: the first o.samples chunks, one batch each, every quantised
// linear's input handed to `on_linear_input` as the model's hook sees it (models/bert.h). Throws
// std::invalid_argument when o.samples exceeds half the corpus: the other half is held out (verify,
// sweep's whole-model figures).
struct BertCalibrationPass {
  int64_t tokens = 0;             // passed through the model
  std::size_t corpus_chunks = 0;  // in the whole corpus
};
BertCalibrationPass run_bert_calibration_forward(const checkpoint::ModelDir& model, const models::BertConfig& config,
                                                 const BertCorpusOptions& o, const CalibrationProgress& progress,
                                                 const models::LinearInputHook& on_linear_input);

CalibrationStats calibrate_bert(const checkpoint::ModelDir& model, const models::BertConfig& config,
                                kernels::Backend& backend, const BertCorpusOptions& o,
                                const CalibrationProgress& progress = {});

}  // namespace smoothcheck::pipeline
