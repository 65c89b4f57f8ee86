// The quantised linears of an export, run the way its engine's runtime runs them (quantization_config's
// activation options and epilogue, from the engine profile): dynamic per-token int8 activation
// quantisation (in migration mode the activation is first divided by the linear's migration_scale)
// and an int8 GEMM with the engine's epilogue, both on a production backend through
// harness/checked_ops.h. Shared by the W8A8 LLaMA and BERT forward passes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/pipeline/quantization_config.h"
#include "harness/models/quantized_layout.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

// One linear under the engine's dynamic runtime: x [M, C] float32 contiguous, divided by s [C] inside
// the per-token quantiser when s is defined (migration mode; undefined: x is already in the weights'
// space), int8 codes [O, C] and float32 row scales [O] -> y [M, O] float32, with the activation codes
// [M, C] and their per-token scales [M] (for a caller that separates the activation's error).
struct W8A8Output {
  at::Tensor y, qa, sa;
};
W8A8Output w8a8_dynamic_matmul(kernels::Backend& backend, const ActQuantOptions& activation, Epilogue epilogue,
                               const at::Tensor& x, const at::Tensor& s, const at::Tensor& codes,
                               const at::Tensor& scale);

class W8A8Linears {
 public:
  // Loads <linear>.weight int8 [O, C], .scale [O, 1] and, in migration mode, .migration_scale [C],
  // each checked (CheckpointError naming the checkpoint and tensor). A linear with an .input_scale [1]
  // (a compressed-tensors static per-tensor input, as the engine's loader leaves it) quantises its
  // input with that scale instead of per token: vLLM's static_scaled_int8_quant (csrc/quantization/
  // compressed_tensors/int8_quant_kernels.cu: x / scale in float, rounded to nearest even, saturated). int8_activations false gives the
  // weight-only diagnostic (W8A32): the same dequantised weights (q·scale) applied to float activations
  // (divided by s in migration mode), so that verify can say which half of W8A8 costs the accuracy.
  // The runtime is qc's: its mode, activation options and epilogue.
  W8A8Linears(const checkpoint::Checkpoint& quantized, const std::vector<QuantizedLinear>& linears,
              const QuantizationConfig& qc, kernels::Backend& backend, bool int8_activations = true);

  // x [M, C] float32 contiguous -> x·Ŵᵀ [M, O] float32 (no bias).
  at::Tensor matmul(const std::string& name, const at::Tensor& x) const;

 private:
  struct QLinear {
    at::Tensor q, scale, migration_scale;  // int8 [O, C], f32 [O], f32 [C] or undefined
    float static_input_scale = 0;          // > 0: a static per-tensor input (<linear>.input_scale)
    at::Tensor dequantized;                // f32 [O, C] = q·scale (weight-only diagnostic)
  };
  bool int8_activations_;
  ActQuantOptions activation_;
  Epilogue epilogue_;
  kernels::Backend* backend_;
  std::map<std::string, QLinear> linears_;
};

// A stored tensor, checked for shape (and, for want == kChar, for being int8), converted to `want`.
at::Tensor load_checked(const checkpoint::Checkpoint& ckpt, const std::string& name, const std::vector<int64_t>& shape,
                        at::ScalarType want);

}  // namespace smoothcheck::pipeline
