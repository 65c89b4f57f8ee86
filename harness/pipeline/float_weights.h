// The float32 copies of a checkpoint's smoothable tensors: its quantised linears and the norms in front
// of them (LLaMA: 7 linears and 2 RMSNorm weights per layer; BERT: 6 linears and 2 LayerNorms), the
// only tensors smoothing and quantisation touch. Torch-free, so that smoothing and
// the weight checks of `verify` compile without LibTorch; the loader (float_weights.cpp) is the one
// translation unit of this component that reads a Checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/llama_config.h"
#include "harness/models/quantized_layout.h"
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

struct FloatWeights {
  std::map<std::string, FloatMatrix> linears;         // "model.layers.3.mlp.up_proj" -> [O, C]
  std::map<std::string, std::vector<float>> norms;    // "model.layers.3.input_layernorm" -> [D] (weight only)
  DType stored_dtype = DType::f32;                    // the dtype the checkpoint stores them in
};

// A norm whose "<name>.weight" is [size].
struct NormSpec {
  std::string name;
  int64_t size = 0;
};

// The float32 buffers of a layer already processed, handed to the next layer's load: a pass over a
// model layer by layer then reuses one layer's memory instead of faulting in and zeroing fresh pages
// for every layer (the 46 MB MLP matrices of a 1.1B model are beyond malloc's reuse threshold), which
// was a third of `quantize`'s and `verify`'s CPU time.
class FloatBufferPool {
 public:
  // A buffer of n floats whose contents are unspecified (they are about to be overwritten).
  std::vector<float> take(std::size_t n);
  // Every buffer of `w`, which is left empty.
  void give(FloatWeights& w);
  void give(std::vector<float>&& v);

 private:
  std::vector<std::vector<float>> spare_;
};

// The named linears' "<name>.weight" and the norms' weights converted to float32 (exact for
// f16/bf16/f32), each shape checked (CheckpointError naming the checkpoint, tensor and both shapes).
// stored_dtype is the first linear's.
// Buffers come from `pool` when one is given.
FloatWeights load_float_weights(const checkpoint::Checkpoint& ckpt, const std::vector<QuantizedLinear>& linears,
                                const std::vector<NormSpec>& norms, FloatBufferPool* pool = nullptr);
}  // namespace smoothcheck::pipeline
