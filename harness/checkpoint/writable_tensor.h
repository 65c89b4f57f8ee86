// What both checkpoint writers check of a tensor they are handed, before any byte is written: a name,
// a defined tensor, and one of the DTypes smoothcheck stores (the format's other dtypes travel as
// opaque_tensor.h bytes instead).
#pragma once

#include <filesystem>
#include <string>

#include <c10/core/ScalarType.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/named_tensor.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::checkpoint {

inline DType writable_dtype(const std::filesystem::path& file, const NamedTensor& nt) {
  if (nt.name.empty()) throw CheckpointError(file, "cannot write a tensor with an empty name");
  if (!nt.tensor.defined()) throw CheckpointError(file, nt.name, "the tensor is undefined");
  const auto dtype = from_scalar_type(nt.tensor.scalar_type());
  if (!dtype)
    throw CheckpointError(file, nt.name, std::string("unsupported dtype ") + c10::toString(nt.tensor.scalar_type()) +
                                             " (smoothcheck writes F32, F16, BF16, I8, I32, F64)");
  return *dtype;
}

}  // namespace smoothcheck::checkpoint
