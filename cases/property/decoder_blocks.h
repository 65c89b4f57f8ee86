// Two transformer blocks small enough to run per property case, written with plain loops in a chosen
// arithmetic (float64 or float32) so that the only difference between two runs is the weights:
//  - a LLaMA decoder layer as transformers computes it (pre-norm RMSNorm, rotate_half RoPE, causal
//    grouped-query attention, SwiGLU), with an optional per-linear runtime divisor of the input
//    (the migration step x / s);
//  - a post-LN BERT block (LayerNorm(x + sublayer(x)), GELU MLP).
// harness/models/llama.h needs a Checkpoint and LibTorch; these need neither, and take random weights.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "harness/models/smoothing_plan.h"
#include "reference/reference.h"

namespace smoothcheck::property {

using reference::Matrix;
using reference::Vector;

// Linears by their transformers names relative to the layer ("self_attn.q_proj", ...), [out, in];
// norms by theirs ("input_layernorm", ...).
struct BlockWeights {
  std::map<std::string, Matrix> linears;
  std::map<std::string, Vector> norm_weights;
  std::map<std::string, Vector> norm_biases;  // LayerNorm only
};

// Random weights of the block's shapes, scaled 1/sqrt(in_features); norm weights around 1.
BlockWeights random_llama_weights(const BlockDims& d, uint64_t seed);
BlockWeights random_bert_weights(const BlockDims& d, uint64_t seed);

// Every value of the weights rounded to f32 (what a float32 model stores).
BlockWeights rounded_to_f32(BlockWeights w);

// migration: linear name -> s; that linear's input is divided by s first.
using RuntimeDivisors = std::map<std::string, Vector>;

// Per linear, max over its outputs of Σ_k |x_k| |w_nk|: the magnitude numerics.md §8's bounds scale with.
using LinearMagnitudes = std::map<std::string, double>;

// x [T, hidden] -> the layer's output [T, hidden]; T is the causal sequence (positions 0..T-1).
// magnitudes (optional) receives every linear's §8 magnitude.
template <class Arith>
Matrix llama_layer_forward(const BlockDims& d, const BlockWeights& w, const Matrix& x, const RuntimeDivisors& migration,
                           LinearMagnitudes* magnitudes = nullptr);

template <class Arith>
Matrix bert_block_forward(const BlockDims& d, const BlockWeights& w, const Matrix& x);

}  // namespace smoothcheck::property
