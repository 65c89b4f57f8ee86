// A stored tensor in a dtype the checkpoint format defines but smoothcheck does not compute with, such
// as BERT's I64 `embeddings.position_ids` buffer. Readers list it with its byte range validated like any
// other tensor, refuse to hand it out as a tensor to compute with, and exports copy it byte for byte,
// so that a model is never refused, nor silently shorn of a buffer, for a tensor the pipeline never uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smoothcheck::checkpoint {

struct OpaqueTensor {
  std::string name;
  std::string dtype;                // the safetensors spelling: "I64", "BOOL", "U8", ...
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;  // as stored: little-endian, row-major
};

using OpaqueTensors = std::vector<OpaqueTensor>;

inline std::int64_t total_bytes(const OpaqueTensors& tensors) {
  std::int64_t sum = 0;
  for (const OpaqueTensor& t : tensors) sum += static_cast<std::int64_t>(t.bytes.size());
  return sum;
}

}  // namespace smoothcheck::checkpoint
