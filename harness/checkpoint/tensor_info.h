// What a reader knows about a stored tensor before reading it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/options.h"

namespace smoothcheck::checkpoint {

struct TensorInfo {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t nbytes = 0;  // product(shape) * dtype_size(dtype), checked against overflow

  std::uint64_t numel() const { return nbytes / dtype_size(dtype); }
};

std::string shape_string(const std::vector<std::int64_t>& shape);  // "[64, 172]"

}  // namespace smoothcheck::checkpoint
