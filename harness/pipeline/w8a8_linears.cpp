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

namespace {

at::Tensor int8_gemm(kernels::Backend& backend, Epilogue epilogue, const at::Tensor& qa, const at::Tensor& sa,
                     const at::Tensor& codes, const at::Tensor& scale) {
  const int64_t M = qa.size(0), C = qa.size(1), O = codes.size(0);
  at::Tensor y = at::empty({M, O}, at::kFloat);
  checked::gemm_w8a8(backend, kernels::ConstMatrix{qa.data_ptr<int8_t>(), DType::i8, M, C, C},
                     kernels::ConstMatrix{codes.data_ptr<int8_t>(), DType::i8, O, C, C},
                     checked::FloatSpan{sa.data_ptr<float>(), M}, checked::FloatSpan{scale.data_ptr<float>(), O},
                     kernels::ConstVector{}, epilogue, kernels::MutMatrix{y.data_ptr<float>(), DType::f32, M, O, O});
  return y;
}

}  // namespace

W8A8Output w8a8_dynamic_matmul(kernels::Backend& backend, const ActQuantOptions& activation, Epilogue epilogue,
                               const at::Tensor& x, const at::Tensor& s, const at::Tensor& codes,
                               const at::Tensor& scale) {
  const int64_t M = x.size(0), C = x.size(1);
  W8A8Output out;
  out.qa = at::empty({M, C}, at::kChar);
  out.sa = at::empty({M}, at::kFloat);
  checked::FloatSpan ms{};
  if (s.defined()) ms = {s.data_ptr<float>(), C};
  checked::quantize_per_token(backend, kernels::ConstMatrix{x.data_ptr<float>(), DType::f32, M, C, C}, ms, activation,
                              kernels::MutMatrix{out.qa.data_ptr<int8_t>(), DType::i8, M, C, C},
                              checked::MutFloatSpan{out.sa.data_ptr<float>(), M});
  out.y = int8_gemm(backend, epilogue, out.qa, out.sa, codes, scale);
  return out;
}

at::Tensor W8A8Linears::matmul(const std::string& name, const at::Tensor& x) const {
  const QLinear& L = linears_.at(name);
  if (!int8_activations_)
    return at::linear(L.migration_scale.defined() ? x / L.migration_scale : x, L.dequantized);
  if (L.static_input_scale > 0) {
    const at::Tensor in = L.migration_scale.defined() ? x / L.migration_scale : x;
    const at::Tensor qa = (in / L.static_input_scale).round().clamp(-128, 127).to(at::kChar).contiguous();
    return int8_gemm(*backend_, epilogue_, qa, at::full({x.size(0)}, L.static_input_scale, at::kFloat), L.q, L.scale);
  }
  return w8a8_dynamic_matmul(*backend_, activation_, epilogue_, x, L.migration_scale, L.q, L.scale).y;
}

}  // namespace smoothcheck::pipeline
