// What every mutant file shares: raw element access into the kernel API's matrices, f32 loads and
// stores of any float dtype (the kernels' own exact conversions), and the Mutant factory.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "cases/differential/mutant_backends.h"
#include "kernels/numerics.h"

namespace smoothcheck::mutants::support {

using kernels::ConstMatrix;
using kernels::MutMatrix;

template <typename T>
inline T* row_of(MutMatrix m, int64_t r) {
  return static_cast<T*>(m.data) + r * m.row_stride;
}
template <typename T>
inline const T* row_of(ConstMatrix m, int64_t r) {
  return static_cast<const T*>(m.data) + r * m.row_stride;
}

// One element of a float matrix of any float dtype, as f32 (the kernels' exact loads).
inline float load_float(ConstMatrix m, int64_t r, int64_t c) {
  const char* p = static_cast<const char*>(m.data) + (r * m.row_stride + c) * int64_t(dtype_size(m.dtype));
  if (m.dtype == DType::f32) { float v; std::memcpy(&v, p, 4); return v; }
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return m.dtype == DType::f16 ? numerics::f16_to_float(bits) : numerics::bf16_to_float(bits);
}
// Stores an f32 value into a float matrix of any float dtype, rounded to nearest even.
inline void store_float(MutMatrix m, int64_t r, int64_t c, float v) {
  char* p = static_cast<char*>(m.data) + (r * m.row_stride + c) * int64_t(dtype_size(m.dtype));
  if (m.dtype == DType::f32) { std::memcpy(p, &v, 4); return; }
  uint16_t bits = m.dtype == DType::f16 ? numerics::float_to_f16(v) : numerics::float_to_bf16(v);
  std::memcpy(p, &bits, 2);
}

// caught_by: the check that must report it ("codes: q"); ignores_option: option_name(...) or empty.
template <typename T>
Mutant mutant(std::string name, std::string family, std::string filter, std::string caught_by,
              std::string ignores_option = "") {
  return {std::move(name), std::move(family), std::move(filter),
          [] { return std::unique_ptr<kernels::Backend>(std::make_unique<T>()); }, std::move(caught_by),
          std::move(ignores_option)};
}

}  // namespace smoothcheck::mutants::support
