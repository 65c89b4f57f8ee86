// How each checkpoint format spells the element types of kernels/options.h. Only the six DTypes
// smoothcheck computes with are accepted; anything else is refused by name rather than reinterpreted.
#pragma once

#include <optional>
#include <string>

#include "kernels/options.h"

namespace smoothcheck::checkpoint {

// safetensors dtype strings (the format's own spelling).
inline std::optional<DType> dtype_from_safetensors(const std::string& s) {
  if (s == "F32") return DType::f32;
  if (s == "F16") return DType::f16;
  if (s == "BF16") return DType::bf16;
  if (s == "I8") return DType::i8;
  if (s == "I32") return DType::i32;
  if (s == "F64") return DType::f64;
  return std::nullopt;
}

inline const char* safetensors_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i8: return "I8";
    case DType::i32: return "I32";
    case DType::f64: return "F64";
  }
  return "?";
}

// Dtypes the safetensors format defines but smoothcheck does not read: the error then says
// "unsupported" rather than "unknown", which tells a user the file is fine and the harness is not.
inline bool is_other_safetensors_dtype(const std::string& s) {
  for (const char* d : {"BOOL", "U8", "I16", "U16", "U32", "I64", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
                        "F6_E2M3", "F6_E3M2", "F4", "E8M0", "C64"})
    if (s == d) return true;
  return false;
}

// config.json "torch_dtype" spellings.
inline std::optional<DType> dtype_from_torch_name(const std::string& s) {
  if (s == "float32" || s == "float") return DType::f32;
  if (s == "float16" || s == "half") return DType::f16;
  if (s == "bfloat16") return DType::bf16;
  if (s == "float64" || s == "double") return DType::f64;
  return std::nullopt;
}

}  // namespace smoothcheck::checkpoint
