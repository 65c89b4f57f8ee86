#include "harness/pipeline/float_weights.h"

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/torch_dtype.h"
#include "harness/quantized_layout.h"

namespace smoothcheck::pipeline {

namespace {

at::Tensor load_f32(const checkpoint::Checkpoint& ckpt, const std::string& name, const std::vector<int64_t>& shape) {
  if (!ckpt.contains(name)) throw checkpoint::CheckpointError(ckpt.location(), name, "absent, but the LLaMA config requires it");
  at::Tensor t = ckpt.tensor(name);
  if (t.sizes().vec() != shape)
    throw checkpoint::CheckpointError(ckpt.location(), name,
                                      "has shape " + checkpoint::shape_string(t.sizes().vec()) +
                                          " but the config implies " + checkpoint::shape_string(shape));
  if (!at::isFloatingType(t.scalar_type()))
    throw checkpoint::CheckpointError(ckpt.location(), name, "is not a floating-point tensor; is this an already quantised export?");
  return t.to(at::kFloat).contiguous();
}

std::vector<float> to_vector(const at::Tensor& t) {
  const float* p = t.data_ptr<float>();
  return std::vector<float>(p, p + t.numel());
}

}  // namespace

std::string layer_prefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

FloatLlamaWeights load_float_weights(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& config) {
  FloatLlamaWeights w;
  const auto stored = checkpoint::from_scalar_type(ckpt.tensor("model.embed_tokens.weight").scalar_type());
  w.stored_dtype = stored.value_or(DType::f32);
  QuantizedLayoutConfig lc = layout_config_from(config, w.stored_dtype);
  for (const QuantizedLinear& q : quantized_linears(lc)) {
    at::Tensor t = load_f32(ckpt, q.name + ".weight", {q.out_features, q.in_features});
    w.linears[q.name] = FloatMatrix{q.out_features, q.in_features, to_vector(t)};
  }
  for (int64_t l = 0; l < config.num_hidden_layers; ++l)
    for (const char* n : {"input_layernorm", "post_attention_layernorm"}) {
      const std::string name = layer_prefix(l) + n;
      w.norms[name] = to_vector(load_f32(ckpt, name + ".weight", {config.hidden_size}));
    }
  return w;
}

}  // namespace smoothcheck::pipeline
