#include "harness/models/llama_kv_cache.h"

#include <stdexcept>
#include <utility>

namespace smoothcheck::models {

void LlamaKvCache::assign(std::vector<at::Tensor> keys, std::vector<at::Tensor> values, std::int64_t batch,
                          std::int64_t positions) {
  if (keys.size() != values.size() || batch <= 0 || positions <= 0)
    throw std::logic_error("LlamaKvCache::assign: " + std::to_string(keys.size()) + " key and " +
                           std::to_string(values.size()) + " value layers, batch " + std::to_string(batch) +
                           ", positions " + std::to_string(positions));
  keys_ = std::move(keys);
  values_ = std::move(values);
  batch_ = batch;
  positions_ = positions;
}

}  // namespace smoothcheck::models
