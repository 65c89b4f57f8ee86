// numerics.md §6: dynamic per-token and static per-tensor int8 activation quantisation. With a
// migration scale the activation is first multiplied by the f32 reciprocal of s_j
// (numerics::migration_reciprocal, computed once per channel), fused into the same pass; the product
// stays in f32. Threads own rows.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cpu/absmax.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::kernels {
namespace {

template <class IO>
void quantize_row(const typename IO::storage* x, const float* recip, int64_t n, numerics::RowScale rs,
                  const ActQuantOptions& o, int8_t* q) {
  for (int64_t j = 0; j < n; ++j) {
    float v = IO::load(x + j);
    if (recip) v = numerics::mul_rn(v, recip[j]);
    q[j] = numerics::quantize_value(v, rs, o);
  }
}

// The reciprocals of the migration scale (empty without).
std::vector<float> prepare(const ConstMatrix& x, const float* migration_scale) {
  std::vector<float> recip;
  if (migration_scale && x.rows > 0) {
    recip.resize(std::size_t(x.cols));
    for (int64_t j = 0; j < x.cols; ++j) recip[std::size_t(j)] = numerics::migration_reciprocal(migration_scale[j]);
  }
  return recip;
}

void quantize_rows(const ConstMatrix& x, const float* recip, const ActQuantOptions& o, MutMatrix q, bool avx2,
                   int threads, const float* tensor_scale, float* row_scales) {
  cpu::parallel_for(x.rows, cpu::grain_for_bytes(x.cols * 4), threads, [&](int64_t r0, int64_t r1) {
    // AVX2 with a migration scale: x * (1/s) is formed once per row, into this buffer, and both the
    // absmax and the codes read it (the same f32 products the scalar path forms twice).
    std::vector<float> migrated(avx2 && recip ? std::size_t(x.cols) : 0);
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = cpu::row_ptr(x, r);
      auto* codes = static_cast<int8_t*>(cpu::row_ptr(q, r));
      if (!migrated.empty()) {
        const float absmax = cpu::avx2::scaled_absmax_row(row, x.dtype, recip, x.cols, migrated.data());
        const numerics::RowScale rs =
            tensor_scale ? numerics::row_scale_from_scale(*tensor_scale) : numerics::row_scale_from_absmax(absmax, o);
        if (row_scales) row_scales[r] = rs.scale;
        if (rs.scale == 0.0f) std::memset(codes, 0, std::size_t(x.cols));
        else cpu::avx2::quantize_row(migrated.data(), DType::f32, nullptr, x.cols, rs.scale, rs.inv_scale, o, codes);
        continue;
      }
      numerics::RowScale rs = tensor_scale
                                  ? numerics::row_scale_from_scale(*tensor_scale)
                                  : numerics::row_scale_from_absmax(cpu::absmax_row(row, x.dtype, recip, x.cols, avx2), o);
      if (row_scales) row_scales[r] = rs.scale;
      if (rs.scale == 0.0f) {
        std::memset(codes, 0, std::size_t(x.cols));  // numerics::quantize_value of a zero scale
      } else if (avx2) {
        cpu::avx2::quantize_row(row, x.dtype, recip, x.cols, rs.scale, rs.inv_scale, o, codes);
      } else {
        cpu::visit_float_dtype(x.dtype, [&](auto io) {
          using IO = decltype(io);
          quantize_row<IO>(static_cast<const typename IO::storage*>(row), recip, x.cols, rs, o, codes);
        });
      }
    }
  });
}

}  // namespace

void CpuBackend::quantize_per_token(ConstMatrix x, const float* migration_scale, const ActQuantOptions& o,
                                    MutMatrix q, float* scale) {
  validate_quantize_per_token(cpu::kBackend, x, o, q, scale);
  std::vector<float> recip = prepare(x, migration_scale);
  if (x.rows == 0 || x.cols == 0) return;
  quantize_rows(x, recip.empty() ? nullptr : recip.data(), o, q, use_avx2(), threads(), nullptr, scale);
}

void CpuBackend::quantize_per_tensor(ConstMatrix x, const float* migration_scale, float scale,
                                     const ActQuantOptions& o, MutMatrix q) {
  validate_quantize_per_tensor(cpu::kBackend, x, scale, o, q);
  std::vector<float> recip = prepare(x, migration_scale);
  if (x.rows == 0 || x.cols == 0) return;
  quantize_rows(x, recip.empty() ? nullptr : recip.data(), o, q, use_avx2(), threads(), &scale, nullptr);
}

}  // namespace smoothcheck::kernels
