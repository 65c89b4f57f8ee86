#include "harness/pipeline/float_conversion.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/numerics.h"

namespace smoothcheck::pipeline {

namespace {

void require_float_dtype(const char* op, DType t) {
  if (t != DType::f16 && t != DType::bf16 && t != DType::f32)
    throw std::invalid_argument(std::string(op) + ": not f16, bf16 or f32: " + to_string(t));
}

bool use_avx2(DType t) {
  static const bool avx2 = kernels::cpu_supports_avx2();
  return avx2 && (t == DType::f16 || t == DType::bf16);  // f32 is a copy either way
}

}  // namespace

void widen_to_f32_scalar(const void* stored, DType t, std::size_t n, float* out) {
  require_float_dtype("widen_to_f32", t);
  const auto* bytes = static_cast<const unsigned char*>(stored);
  if (t == DType::f32) {
    if (n > 0) std::memcpy(out, bytes, n * sizeof(float));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, sizeof h);  // the mapping need not be aligned
    out[i] = t == DType::f16 ? numerics::f16_to_float(h) : numerics::bf16_to_float(h);
  }
}

void narrow_from_f32_scalar(const float* values, std::size_t n, DType t, void* out) {
  require_float_dtype("narrow_from_f32", t);
  auto* bytes = static_cast<unsigned char*>(out);
  if (t == DType::f32) {
    if (n > 0) std::memcpy(bytes, values, n * sizeof(float));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const uint16_t h = t == DType::f16 ? numerics::float_to_f16(values[i]) : numerics::float_to_bf16(values[i]);
    std::memcpy(bytes + 2 * i, &h, sizeof h);
  }
}

void widen_to_f32(const void* stored, DType t, std::size_t n, float* out) {
  if (use_avx2(t)) return widen_to_f32_avx2(stored, t, n, out);
  widen_to_f32_scalar(stored, t, n, out);
}

void narrow_from_f32(const float* values, std::size_t n, DType t, void* out) {
  if (use_avx2(t)) return narrow_from_f32_avx2(values, n, t, out);
  narrow_from_f32_scalar(values, n, t, out);
}

}  // namespace smoothcheck::pipeline
