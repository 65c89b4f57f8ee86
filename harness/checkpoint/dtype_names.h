// How each checkpoint format spells the element types of kernels/options.h. Only the six DTypes
// smoothcheck computes with are read as tensors; the format's other dtypes are carried through as bytes
// (opaque_tensor.h), and anything else is refused by name rather than reinterpreted.
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

// Bits per element of the dtypes the safetensors format defines but smoothcheck does not compute with
// (its README's dtype list; F6/F4 are packed below a byte). Such tensors are listed, with their byte
// ranges validated, and carried into exports byte for byte: an error on them would then say
// "unsupported" rather than "unknown", which tells a user the file is fine and the harness is not.
inline std::optional<int> other_safetensors_dtype_bits(const std::string& s) {
  static const struct {
    const char* name;
    int bits;
  } kOther[] = {{"BOOL", 8},    {"U8", 8},      {"I16", 16},     {"U16", 16},     {"U32", 32},
                {"I64", 64},    {"U64", 64},    {"F8_E4M3", 8},  {"F8_E5M2", 8},  {"F8_E8M0", 8},
                {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"F4", 4},       {"E8M0", 8},     {"C64", 64}};
  for (const auto& d : kOther)
    if (s == d.name) return d.bits;
  return std::nullopt;
}
inline bool is_other_safetensors_dtype(const std::string& s) { return other_safetensors_dtype_bits(s).has_value(); }

// torch.save's storage classes for those of them LibTorch 1.13 has, so that a .bin export can carry them.
inline const char* torch_storage_class_of_other(const std::string& s) {
  if (s == "BOOL") return "BoolStorage";
  if (s == "U8") return "ByteStorage";
  if (s == "I16") return "ShortStorage";
  if (s == "I64") return "LongStorage";
  if (s == "C64") return "ComplexFloatStorage";
  return nullptr;
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
