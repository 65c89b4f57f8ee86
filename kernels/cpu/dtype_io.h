// Element access for the portable path: f32/f16/bf16 storage <-> f32 through numerics.h's conversions,
// so that every value the scalar path reads or writes is the one the AVX2 path (F16C, bit shifts)
// and the CUDA backend produce. Included by the portable translation units only: an *_avx2.cpp file
// must not instantiate these inline functions (the linker would keep one copy, possibly the AVX2 one).
#pragma once

#include <cstdint>

#include "kernels/kernel_api.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels::cpu {

struct F32Io {
  using storage = float;
  static float load(const storage* p) { return *p; }
  static void store(storage* p, float v) { *p = v; }
  static float round_trip(float v) { return v; }
};

struct F16Io {
  using storage = uint16_t;
  static float load(const storage* p) { return numerics::f16_to_float(*p); }
  static void store(storage* p, float v) { *p = numerics::float_to_f16(v); }
  static float round_trip(float v) { return numerics::f16_to_float(numerics::float_to_f16(v)); }
};

struct Bf16Io {
  using storage = uint16_t;
  static float load(const storage* p) { return numerics::bf16_to_float(*p); }
  static void store(storage* p, float v) { *p = numerics::float_to_bf16(v); }
  static float round_trip(float v) { return numerics::bf16_to_float(numerics::float_to_bf16(v)); }
};

// Calls fn(Io{}) with the Io type of a floating dtype; the caller validated the dtype beforehand.
template <class Fn>
decltype(auto) visit_float_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::f16: return fn(F16Io{});
    case DType::bf16: return fn(Bf16Io{});
    case DType::f32: break;
    default: throw KernelError(std::string("internal: not a floating dtype: ") + to_string(t));
  }
  return fn(F32Io{});
}

// Element i of a row of a floating dtype.
inline float load_float(const void* row, DType t, int64_t i) {
  switch (t) {
    case DType::f16: return numerics::f16_to_float(static_cast<const uint16_t*>(row)[i]);
    case DType::bf16: return numerics::bf16_to_float(static_cast<const uint16_t*>(row)[i]);
    default: return static_cast<const float*>(row)[i];
  }
}

inline void store_float(void* row, DType t, int64_t i, float v) {
  switch (t) {
    case DType::f16: static_cast<uint16_t*>(row)[i] = numerics::float_to_f16(v); break;
    case DType::bf16: static_cast<uint16_t*>(row)[i] = numerics::float_to_bf16(v); break;
    default: static_cast<float*>(row)[i] = v; break;
  }
}

// The address of row r of a matrix view.
inline const void* row_ptr(const ConstMatrix& m, int64_t r) {
  return static_cast<const char*>(m.data) + r * m.row_stride * int64_t(dtype_size(m.dtype));
}
inline void* row_ptr(const MutMatrix& m, int64_t r) {
  return static_cast<char*>(m.data) + r * m.row_stride * int64_t(dtype_size(m.dtype));
}

}  // namespace smoothcheck::kernels::cpu
