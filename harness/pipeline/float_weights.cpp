#include "harness/pipeline/float_weights.h"

#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

namespace {

// Converts straight into the returned vector: one copy out of the file, one conversion, nothing else
// held (a 1.1B model's layer is 176 MB at float32; a model-wide load would be 4.4 GB).
std::vector<float> load_f32(const checkpoint::Checkpoint& ckpt, const std::string& name,
                            const std::vector<int64_t>& shape, FloatBufferPool* pool) {
  const at::Tensor t = checkpoint::tensor_of_shape(ckpt, name, shape, "the config");
  if (!at::isFloatingType(t.scalar_type()))
    throw checkpoint::CheckpointError(ckpt.location(), name, "is not a floating-point tensor; is this an already quantised export?");
  const auto n = static_cast<std::size_t>(t.numel());
  std::vector<float> v = pool ? pool->take(n) : std::vector<float>(n);
  if (!v.empty()) at::from_blob(v.data(), t.sizes(), at::kFloat).copy_(t);
  return v;
}

}  // namespace

std::vector<float> FloatBufferPool::take(std::size_t n) {
  // The smallest spare that holds n without growing: layers of one model have the same shapes, so this
  // is usually an exact fit, and the large buffers go to the large matrices.
  std::size_t best = spare_.size();
  for (std::size_t i = 0; i < spare_.size(); ++i)
    if (spare_[i].capacity() >= n && (best == spare_.size() || spare_[i].capacity() < spare_[best].capacity()))
      best = i;
  if (best == spare_.size()) return std::vector<float>(n);
  std::vector<float> v = std::move(spare_[best]);
  spare_.erase(spare_.begin() + static_cast<std::ptrdiff_t>(best));
  v.resize(n);  // within capacity: no reallocation; only a grown tail is zeroed
  return v;
}

void FloatBufferPool::give(std::vector<float>&& v) {
  if (v.capacity() > 0) spare_.push_back(std::move(v));
}

void FloatBufferPool::give(FloatWeights& w) {
  for (auto& [name, m] : w.linears) give(std::move(m.data));
  for (auto& [name, v] : w.norms) give(std::move(v));
  w.linears.clear();
  w.norms.clear();
}

FloatWeights load_float_weights(const checkpoint::Checkpoint& ckpt, const std::vector<QuantizedLinear>& linears,
                                const std::vector<NormSpec>& norms, FloatBufferPool* pool) {
  FloatWeights w;
  if (linears.empty()) throw std::invalid_argument("load_float_weights: no linears");
  const std::string probe = linears.front().name + ".weight";
  if (ckpt.contains(probe)) w.stored_dtype = ckpt.info(probe).dtype;
  for (const QuantizedLinear& q : linears) {
    w.linears[q.name] =
        FloatMatrix{q.out_features, q.in_features, load_f32(ckpt, q.name + ".weight", {q.out_features, q.in_features}, pool)};
  }
  for (const NormSpec& n : norms) w.norms[n.name] = load_f32(ckpt, n.name + ".weight", {n.size}, pool);
  return w;
}

}  // namespace smoothcheck::pipeline
