// numerics.md §4: applying s in place. Each element is computed in f32 (one multiply or one true
// division) and rounded once to the tensor's dtype. Threads own rows.
#include "kernels/argument_contract.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::kernels {
namespace {

template <class IO>
void scale_row(typename IO::storage* row, const float* s, int64_t n) {
  for (int64_t j = 0; j < n; ++j) IO::store(row + j, numerics::mul_rn(IO::load(row + j), s[j]));
}

template <class IO>
void divide_row(typename IO::storage* row, float s, int64_t n) {
  for (int64_t j = 0; j < n; ++j) IO::store(row + j, numerics::div_rn(IO::load(row + j), s));
}

}  // namespace

void CpuBackend::scale_columns(MutMatrix w, const float* s) {
  validate_scale_columns(cpu::kBackend, w, s);
  if (w.rows == 0 || w.cols == 0) return;
  const bool avx2 = use_avx2();
  cpu::parallel_for(w.rows, cpu::grain_for_bytes(w.cols * 2), threads(), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      void* row = cpu::row_ptr(w, r);
      if (avx2) {
        cpu::avx2::scale_row(row, w.dtype, s, w.cols);
      } else {
        cpu::visit_float_dtype(w.dtype, [&](auto io) {
          using IO = decltype(io);
          scale_row<IO>(static_cast<typename IO::storage*>(row), s, w.cols);
        });
      }
    }
  });
}

void CpuBackend::divide_rows(MutMatrix w, const float* s) {
  validate_divide_rows(cpu::kBackend, w, s);
  if (w.rows == 0 || w.cols == 0) return;
  const bool avx2 = use_avx2();
  cpu::parallel_for(w.rows, cpu::grain_for_bytes(w.cols * 2), threads(), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      void* row = cpu::row_ptr(w, r);
      if (avx2) {
        cpu::avx2::divide_row(row, w.dtype, s[r], w.cols);
      } else {
        cpu::visit_float_dtype(w.dtype, [&](auto io) {
          using IO = decltype(io);
          divide_row<IO>(static_cast<typename IO::storage*>(row), s[r], w.cols);
        });
      }
    }
  });
}

void CpuBackend::divide_vector(MutVector v, const float* s) {
  validate_divide_vector(cpu::kBackend, v, s);
  // C values: one pass, the same portable loop on either ISA.
  for (int64_t j = 0; j < v.size; ++j) cpu::store_float(v.data, v.dtype, j, numerics::div_rn(cpu::load_float(v.data, v.dtype, j), s[j]));
}

}  // namespace smoothcheck::kernels
