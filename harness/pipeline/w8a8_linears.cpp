#include "harness/pipeline/w8a8_linears.h"

#include <cmath>

#include <ATen/ATen.h>

#include "harness/checked_ops.h"
#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

at::Tensor load_checked(const checkpoint::Checkpoint& ckpt, const std::string& name, const std::vector<int64_t>& shape,
                        at::ScalarType want) {
  const at::Tensor t = checkpoint::tensor_of_shape(ckpt, name, shape, "the quantised layout");
  if (want == at::kChar && t.scalar_type() != at::kChar)
    throw CheckpointError(ckpt.location(), name, "is " + std::string(t.dtype().name()) + ", expected int8");
  return t.to(want).contiguous();
}

W8A8Linears::W8A8Linears(const checkpoint::Checkpoint& ckpt, const std::vector<QuantizedLinear>& linears,
                         const QuantizationConfig& qc, kernels::Backend& backend, bool int8_activations)
    : int8_activations_(int8_activations), activation_(qc.activation), epilogue_(qc.epilogue), backend_(&backend) {
  const SmoothMode mode = qc.mode;
  for (const QuantizedLinear& ql : linears) {
    QLinear q;
    q.q = load_checked(ckpt, ql.name + ".weight", {ql.out_features, ql.in_features}, at::kChar);
    q.scale = load_checked(ckpt, ql.name + ".scale", {ql.out_features, 1}, at::kFloat).view({ql.out_features});
    if (mode == SmoothMode::migration)
      q.migration_scale = load_checked(ckpt, ql.name + ".migration_scale", {ql.in_features}, at::kFloat);
    if (ckpt.contains(ql.name + ".input_scale")) {
      q.static_input_scale = load_checked(ckpt, ql.name + ".input_scale", {1}, at::kFloat).item<float>();
      if (!(q.static_input_scale > 0) || !std::isfinite(q.static_input_scale))
        throw CheckpointError(ckpt.location(), ql.name + ".input_scale", "is not finite and > 0");
    }
    if (!int8_activations) q.dequantized = q.q.to(at::kFloat) * q.scale.unsqueeze(1);
    linears_[ql.name] = q;
  }
}

at::Tensor W8A8Linears::matmul(const std::string& name, const at::Tensor& x) const {
  const QLinear& L = linears_.at(name);
  const int64_t M = x.size(0), C = x.size(1), O = L.q.size(0);
  if (!int8_activations_)
    return at::linear(L.migration_scale.defined() ? x / L.migration_scale : x, L.dequantized);
  at::Tensor qa = at::empty({M, C}, at::kChar);
  at::Tensor sa = at::empty({M}, at::kFloat);
  if (L.static_input_scale > 0) {
    const at::Tensor in = L.migration_scale.defined() ? x / L.migration_scale : x;
    qa = (in / L.static_input_scale).round().clamp(-128, 127).to(at::kChar).contiguous();
    sa.fill_(L.static_input_scale);
  } else {
    checked::FloatSpan ms{};
    if (L.migration_scale.defined()) ms = {L.migration_scale.data_ptr<float>(), C};
    checked::quantize_per_token(*backend_, kernels::ConstMatrix{x.data_ptr<float>(), DType::f32, M, C, C}, ms,
                                activation_, kernels::MutMatrix{qa.data_ptr<int8_t>(), DType::i8, M, C, C},
                                checked::MutFloatSpan{sa.data_ptr<float>(), M});
  }
  at::Tensor y = at::empty({M, O}, at::kFloat);
  checked::gemm_w8a8(*backend_, kernels::ConstMatrix{qa.data_ptr<int8_t>(), DType::i8, M, C, C},
                     kernels::ConstMatrix{L.q.data_ptr<int8_t>(), DType::i8, O, C, C},
                     checked::FloatSpan{sa.data_ptr<float>(), M}, checked::FloatSpan{L.scale.data_ptr<float>(), O},
                     kernels::ConstVector{}, epilogue_,
                     kernels::MutMatrix{y.data_ptr<float>(), DType::f32, M, O, O});
  return y;
}

}  // namespace smoothcheck::pipeline
