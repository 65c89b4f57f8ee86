// The float32 copies of a checkpoint's smoothable tensors: its quantised linears and the norms in front
// of them (LLaMA: 7 linears and 2 RMSNorm weights per layer; BERT: 6 linears and 2 LayerNorms), the
// only tensors smoothing and quantisation touch. Torch-free, so that smoothing and
// the weight checks of `verify` compile without LibTorch; the loader (float_weights.cpp) is the one
// translation unit of this component that reads a Checkpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/checkpoint/llama_config.h"
#include "harness/checkpoint/mapped_tensor_bytes.h"
#include "harness/models/quantized_layout.h"
#include "harness/pipeline/huge_page_allocator.h"
#include "kernels/cpu/parallel_for.h"
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

// Buffers of a layer already processed, handed to the next layer: a pass over a model layer by layer
// then reuses one layer's memory instead of faulting in and zeroing fresh pages for every layer (the 46
// MB MLP matrices of a 1.1B model are beyond malloc's reuse threshold), which was a third of
// `quantize`'s and `verify`'s CPU time for the float32 copies, and 300k page faults for quantize's int8
// codes.
template <class T>
class BufferPool {
 public:
  // A buffer of n elements whose contents are unspecified (they are about to be overwritten): the
  // smallest spare that holds n without growing (layers of one model have the same shapes, so this is
  // usually an exact fit, and the large buffers go to the large matrices), else a new one.
  std::vector<T> take(std::size_t n) {
    std::size_t best = spare_.size();
    for (std::size_t i = 0; i < spare_.size(); ++i)
      if (spare_[i].capacity() >= n && (best == spare_.size() || spare_[i].capacity() < spare_[best].capacity()))
        best = i;
    if (best == spare_.size()) {
      std::vector<T> fresh;
      fresh.reserve(n);
      advise_huge_pages(fresh.data(), n * sizeof(T));  // before the first touch (huge_page_allocator.h)
      // The first touch on every core: each fresh page is zeroed by the kernel as it is faulted in, and
      // on one core (resize's own fill) that was a quarter of a second of verify's first layer at 1.1B.
      char* raw = reinterpret_cast<char*>(fresh.data());
      kernels::cpu::parallel_for(static_cast<int64_t>(n * sizeof(T)), int64_t(1) << 21, kernels::cpu::all_cores(),
                                 [raw](int64_t begin, int64_t end) {
                                   std::memset(raw + begin, 0, static_cast<std::size_t>(end - begin));
                                 });
      fresh.resize(n);  // then a fill of memory already present
      return fresh;
    }
    std::vector<T> v = std::move(spare_[best]);
    spare_.erase(spare_.begin() + static_cast<std::ptrdiff_t>(best));
    v.resize(n);  // within capacity: no reallocation; only a grown tail is zeroed
    return v;
  }
  void give(std::vector<T>&& v) {
    if (v.capacity() > 0) spare_.push_back(std::move(v));
  }

 private:
  std::vector<std::vector<T>> spare_;
};

class FloatBufferPool : public BufferPool<float> {
 public:
  using BufferPool<float>::give;
  // Every buffer of `w`, which is left empty.
  void give(FloatWeights& w);
};

// A linear whose float32 rows are widened from its stored bytes in place by the pass that reads them
// first, a block of rows at a time (verify's re-derivation): each row is then read from memory once,
// as stored, and used from the core's cache, instead of being written out at float32 and read back
// (at 1.1B, 4.4 GB each way).
struct DeferredRows {
  checkpoint::MappedTensorBytes stored;
  float* into = nullptr;  // the linear's FloatMatrix data, rows x cols
  int64_t cols = 0;

  // Widens rows [first_row, first_row + rows) into `into`.
  void fill(int64_t first_row, int64_t rows) const;
};
using DeferredLinears = std::map<std::string, DeferredRows>;

// The named linears' "<name>.weight" and the norms' weights converted to float32 (exact for
// f16/bf16/f32), each shape checked (CheckpointError naming the checkpoint, tensor and both shapes).
// stored_dtype is the first linear's.
// Buffers come from `pool` when one is given.
// deferred: when given, each linear stored in place (Checkpoint::mapped) as f16, bf16 or f32 gets its
// buffer but not its values, and is listed there: every one of its rows must be filled before the
// weights are used otherwise.
FloatWeights load_float_weights(const checkpoint::Checkpoint& ckpt, const std::vector<QuantizedLinear>& linears,
                                const std::vector<NormSpec>& norms, FloatBufferPool* pool = nullptr,
                                DeferredLinears* deferred = nullptr);
}  // namespace smoothcheck::pipeline
