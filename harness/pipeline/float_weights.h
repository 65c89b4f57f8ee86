// The float32 copies of a LLaMA checkpoint's smoothable tensors: the 7 linears and 2 RMSNorm weights
// of every layer, the only tensors smoothing and quantisation touch. Torch-free, so that smoothing and
// the weight checks of `verify` compile without LibTorch; the loader (float_weights.cpp) is the one
// translation unit of this component that reads a Checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/llama_config.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::checkpoint {
class Checkpoint;
}

namespace smoothcheck::pipeline {

// Row-major [rows, cols] float32.
struct FloatMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;

  kernels::MutMatrix view() { return {data.data(), DType::f32, rows, cols, cols}; }
  kernels::ConstMatrix view() const { return {data.data(), DType::f32, rows, cols, cols}; }
};

struct FloatLlamaWeights {
  std::map<std::string, FloatMatrix> linears;         // "model.layers.3.mlp.up_proj" -> [O, C]
  std::map<std::string, std::vector<float>> norms;    // "model.layers.3.input_layernorm" -> [D]
  DType stored_dtype = DType::f32;                    // the dtype the checkpoint stores them in
};

// Every linear of every layer, and both norms, converted to float32 (exact for f16/bf16/f32), each
// shape checked against the config (CheckpointError naming the checkpoint, tensor and both shapes).
FloatLlamaWeights load_float_weights(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& config);

// "model.layers.<l>." for layer l.
std::string layer_prefix(int64_t layer);

}  // namespace smoothcheck::pipeline
