// The keys (after RoPE) and values of every position a LlamaModel has already seen, per layer, so that
// a forward pass over the next tokens computes only theirs. This is what run.c's key_cache/value_cache
// and transformers' past_key_values hold (llama2.c run.c `forward`, transformers
// models/llama/modeling_llama.py with a DynamicCache). Sampling text from the model (token_sampling.h)
// is one such pass per token: without the cache every step recomputed its whole prefix, T²/2 token
// passes for T tokens instead of T.
//
// A cache belongs to one batch of sequences of one model: LlamaModel::forward refuses a cache whose
// batch or layer count differs from the call's. A forward pass that throws leaves it as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace smoothcheck::models {

class LlamaKvCache {
 public:
  // Positions cached so far: the next token fed is at this position.
  std::int64_t positions() const { return positions_; }
  // Sequences in the batch the cache was filled with (0 while empty).
  std::int64_t batch() const { return batch_; }
  // Layers cached (0 while empty).
  std::size_t layers() const { return keys_.size(); }

  // Layer l's cached keys and values, [batch, key-value heads, positions, head_dim]: undefined while
  // empty.
  const at::Tensor& keys(std::size_t layer) const { return keys_.at(layer); }
  const at::Tensor& values(std::size_t layer) const { return values_.at(layer); }

  // Replaces the whole content at once, after a forward pass has computed every layer's extended keys
  // and values (so that a failure half-way through the layers changes nothing).
  void assign(std::vector<at::Tensor> keys, std::vector<at::Tensor> values, std::int64_t batch,
              std::int64_t positions);

 private:
  std::vector<at::Tensor> keys_, values_;
  std::int64_t batch_ = 0;
  std::int64_t positions_ = 0;
};

}  // namespace smoothcheck::models
