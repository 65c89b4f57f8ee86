// DType <-> at::ScalarType, for the few translation units that hand tensors to LibTorch.
#pragma once

#include <optional>

#include <c10/core/ScalarType.h>

#include "kernels/options.h"

namespace smoothcheck::checkpoint {

inline c10::ScalarType to_scalar_type(DType t) {
  switch (t) {
    case DType::f64: return c10::ScalarType::Double;
    case DType::f32: return c10::ScalarType::Float;
    case DType::f16: return c10::ScalarType::Half;
    case DType::bf16: return c10::ScalarType::BFloat16;
    case DType::i8: return c10::ScalarType::Char;
    case DType::i32: return c10::ScalarType::Int;
  }
  return c10::ScalarType::Undefined;
}

inline std::optional<DType> from_scalar_type(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Double: return DType::f64;
    case c10::ScalarType::Float: return DType::f32;
    case c10::ScalarType::Half: return DType::f16;
    case c10::ScalarType::BFloat16: return DType::bf16;
    case c10::ScalarType::Char: return DType::i8;
    case c10::ScalarType::Int: return DType::i32;
    default: return std::nullopt;
  }
}

}  // namespace smoothcheck::checkpoint
