// `smoothcheck verify` for a BERT encoder's export (migration mode, the only exact one for post-LN):
//  1. layout: every tensor of the original, each quantised linear as weight int8 [O, C], scale [O, 1],
//     migration_scale [C]; the I64 position_ids carried byte for byte; total_size exact;
//  2. loader: query/key/value share one migration vector (the stacked qkv parameter);
//  3. weights: each linear un-smoothed within numerics.md §8's bound; every other tensor (LayerNorms,
//     biases, embeddings, pooler) bit-identical to the original;
//  4. forward: sentence embeddings (sentence-transformers' mean pooling + L2 normalisation) of held-out
//     corpus chunks through W8A8 linears (w8a8_linears.h) against the float32 model: cosine similarity.
#pragma once

#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/verify.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

VerifyReport verify_bert_export(kernels::Backend& backend, const VerifyOptions& o, const checkpoint::ModelDir& original,
                                const checkpoint::ModelDir& quantized);

}  // namespace smoothcheck::pipeline
