#include "harness/pipeline/float_weights.h"

#include <stdexcept>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/models/quantized_layout.h"
#include "harness/pipeline/float_conversion.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::pipeline {

namespace {

bool widens(const checkpoint::MappedTensorBytes& stored) {
  return stored.info.dtype == DType::f16 || stored.info.dtype == DType::bf16 || stored.info.dtype == DType::f32;
}

// Elements [first, first + n) of the stored tensor widened into out + first; with `release`, their file
// pages dropped once read.
void widen_elements(const checkpoint::MappedTensorBytes& stored, std::size_t first, std::size_t n, float* out,
                    bool release) {
  const std::size_t width = dtype_size(stored.info.dtype);
  widen_to_f32(stored.data + first * width, stored.info.dtype, n, out + first);
  if (release) stored.release(first * width, n * width);
}

// Widens the stored bytes in place, on every core, each range's file pages dropped once read: no copy
// of the tensor, no conversion through LibTorch (at 1.1B those were a third of verify's CPU time).
std::vector<float> widen_mapped(const checkpoint::MappedTensorBytes& stored, FloatBufferPool* pool) {
  const std::size_t n = static_cast<std::size_t>(stored.info.numel());
  std::vector<float> v = pool ? pool->take(n) : std::vector<float>(n);
  kernels::cpu::parallel_for(static_cast<int64_t>(n), int64_t(1) << 18, kernels::cpu::all_cores(),
                             [&](int64_t begin, int64_t end) {
                               widen_elements(stored, static_cast<std::size_t>(begin),
                                              static_cast<std::size_t>(end - begin), v.data(), true);
                             });
  stored.release(0, stored.info.nbytes);  // the pages the ranges' inward rounding left at their edges
  return v;
}

// Converts straight into the returned vector: one copy out of the file, one conversion, nothing else
// held (a 1.1B model's layer is 176 MB at float32; a model-wide load would be 4.4 GB).
std::vector<float> load_f32(const checkpoint::Checkpoint& ckpt, const std::string& name,
                            const std::vector<int64_t>& shape, FloatBufferPool* pool) {
  if (const auto stored = checkpoint::mapped_of_shape(ckpt, name, shape, "the config"); stored && widens(*stored))
    return widen_mapped(*stored, pool);
  const at::Tensor t = checkpoint::tensor_of_shape(ckpt, name, shape, "the config");
  if (!at::isFloatingType(t.scalar_type()))
    throw checkpoint::CheckpointError(ckpt.location(), name, "is not a floating-point tensor; is this an already quantised export?");
  const auto n = static_cast<std::size_t>(t.numel());
  std::vector<float> v = pool ? pool->take(n) : std::vector<float>(n);
  if (v.empty()) return v;
  // On every core, in slices: ATen's own copy runs on one thread in smoothcheck (its OpenMP pool is one
  // thread here), and this conversion was a tenth of quantize's time on a 1.1B model.
  const at::Tensor from = t.reshape({-1}), to = at::from_blob(v.data(), {static_cast<int64_t>(n)}, at::kFloat);
  kernels::cpu::parallel_for(static_cast<int64_t>(n), int64_t(1) << 18,
                             kernels::cpu::all_cores(),
                             [&](int64_t begin, int64_t end) {
                               // InferenceMode is per thread: a caller's (verify's) does not reach the
                               // pool's threads, and `to` is then an inference tensor.
                               c10::InferenceMode guard;
                               to.narrow(0, begin, end - begin).copy_(from.narrow(0, begin, end - begin));
                             });
  return v;
}

}  // namespace

// The pages are dropped once the whole linear is checked (check_quantized_linears), not per block:
// a block of four rows is a few KiB, and one madvise per block would cost more than it saves.
void DeferredRows::fill(int64_t first_row, int64_t rows) const {
  widen_elements(stored, static_cast<std::size_t>(first_row * cols), static_cast<std::size_t>(rows * cols), into,
                 false);
}

void FloatBufferPool::give(FloatWeights& w) {
  for (auto& [name, m] : w.linears) give(std::move(m.data));
  for (auto& [name, v] : w.norms) give(std::move(v));
  w.linears.clear();
  w.norms.clear();
}

FloatWeights load_float_weights(const checkpoint::Checkpoint& ckpt, const std::vector<QuantizedLinear>& linears,
                                const std::vector<NormSpec>& norms, FloatBufferPool* pool, DeferredLinears* deferred) {
  FloatWeights w;
  if (linears.empty()) throw std::invalid_argument("load_float_weights: no linears");
  const std::string probe = linears.front().name + ".weight";
  if (ckpt.contains(probe)) w.stored_dtype = ckpt.info(probe).dtype;
  for (const QuantizedLinear& q : linears) {
    const std::string name = q.name + ".weight";
    const std::vector<int64_t> shape = {q.out_features, q.in_features};
    if (deferred) {
      if (const auto stored = checkpoint::mapped_of_shape(ckpt, name, shape, "the config"); stored && widens(*stored)) {
        const auto n = static_cast<std::size_t>(stored->info.numel());
        FloatMatrix& m = w.linears[q.name] =
            FloatMatrix{q.out_features, q.in_features, pool ? pool->take(n) : std::vector<float>(n)};
        (*deferred)[q.name] = DeferredRows{*stored, m.data.data(), q.in_features};
        continue;
      }
    }
    w.linears[q.name] = FloatMatrix{q.out_features, q.in_features, load_f32(ckpt, name, shape, pool)};
  }
  for (const NormSpec& n : norms) w.norms[n.name] = load_f32(ckpt, n.name + ".weight", {n.size}, pool);
  return w;
}

}  // namespace smoothcheck::pipeline
