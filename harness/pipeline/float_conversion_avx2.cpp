// Compiled with -mavx2 -mfma -mf16c on x86-64 (CMakeLists.txt); float_conversion.cpp calls it only when
// the CPU has them. The loads and stores are the CPU kernels' (dtype_io_avx2.h), each the vector form
// of numerics.h's conversion; the tails are the scalar loops themselves.
#include <immintrin.h>

#include <cstdint>

#include "harness/pipeline/float_conversion.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::pipeline {

namespace {

using kernels::cpu::avx2::Io;

// Eight elements at a time; returns how many were done. loadu/storeu: the elements need not be
// aligned, not even to their own size.
template <class IO>
std::size_t widen_body(const unsigned char* stored, std::size_t n, float* out) {
  std::size_t i = 0;
  using Storage = typename IO::storage;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, IO::load(reinterpret_cast<const Storage*>(stored + i * sizeof(Storage))));
  return i;
}

template <class IO>
std::size_t narrow_body(const float* values, std::size_t n, unsigned char* out) {
  std::size_t i = 0;
  using Storage = typename IO::storage;
  for (; i + 8 <= n; i += 8)
    IO::store(reinterpret_cast<Storage*>(out + i * sizeof(Storage)), _mm256_loadu_ps(values + i));
  return i;
}

}  // namespace

void widen_to_f32_avx2(const void* stored, DType t, std::size_t n, float* out) {
  const auto* bytes = static_cast<const unsigned char*>(stored);
  std::size_t done = 0;
  if (t == DType::f16) done = widen_body<Io<DType::f16>>(bytes, n, out);
  else if (t == DType::bf16) done = widen_body<Io<DType::bf16>>(bytes, n, out);
  widen_to_f32_scalar(bytes + done * dtype_size(t), t, n - done, out + done);
}

void narrow_from_f32_avx2(const float* values, std::size_t n, DType t, void* out) {
  auto* bytes = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  if (t == DType::f16) done = narrow_body<Io<DType::f16>>(values, n, bytes);
  else if (t == DType::bf16) done = narrow_body<Io<DType::bf16>>(values, n, bytes);
  narrow_from_f32_scalar(values + done, n - done, t, bytes + done * dtype_size(t));
}

}  // namespace smoothcheck::pipeline
