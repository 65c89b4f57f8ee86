#include "kernels/cpu/quantize_activation_rows.h"

#include <cstring>

#include "kernels/cpu/absmax.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels::cpu {
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

}  // namespace

std::vector<float> migration_reciprocals(const float* migration_scale, int64_t rows, int64_t cols) {
  std::vector<float> recip;
  if (migration_scale && rows > 0) {
    recip.resize(std::size_t(cols));
    for (int64_t j = 0; j < cols; ++j) recip[std::size_t(j)] = numerics::migration_reciprocal(migration_scale[j]);
  }
  return recip;
}

void quantize_activation_rows(const ConstMatrix& x, const float* recip, const ActQuantOptions& o, MutMatrix q,
                              bool use_avx2, int threads, const float* tensor_scale, float* row_scales) {
  parallel_for(x.rows, grain_for_bytes(x.cols * 4), threads, [&](int64_t r0, int64_t r1) {
    // AVX2 with a migration scale: x * (1/s) is formed once per row, into this buffer, and both the
    // absmax and the codes read it (the same f32 products the scalar path forms twice).
    std::vector<float> migrated(use_avx2 && recip ? std::size_t(x.cols) : 0);
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = row_ptr(x, r);
      auto* codes = static_cast<int8_t*>(row_ptr(q, r));
      if (!migrated.empty()) {
        const float absmax = avx2::scaled_absmax_row(row, x.dtype, recip, x.cols, migrated.data());
        const numerics::RowScale rs =
            tensor_scale ? numerics::row_scale_from_scale(*tensor_scale) : numerics::row_scale_from_absmax(absmax, o);
        if (row_scales) row_scales[r] = rs.scale;
        if (rs.scale == 0.0f) std::memset(codes, 0, std::size_t(x.cols));
        else
          avx2::quantize_row(migrated.data(), DType::f32, nullptr, x.cols, rs.scale, rs.inv_scale, o, codes,
                             r + 1 < r1 ? row_ptr(x, r + 1) : nullptr, x.dtype);
        continue;
      }
      numerics::RowScale rs = tensor_scale
                                  ? numerics::row_scale_from_scale(*tensor_scale)
                                  : numerics::row_scale_from_absmax(absmax_row(row, x.dtype, recip, x.cols, use_avx2), o);
      if (row_scales) row_scales[r] = rs.scale;
      if (rs.scale == 0.0f) {
        std::memset(codes, 0, std::size_t(x.cols));  // numerics::quantize_value of a zero scale
      } else if (use_avx2) {
        // Per token, this pass re-reads the row absmax_row has just read, from cache: the next row is
        // prefetched meanwhile. Per tensor it is the row's only pass, and the stream prefetcher has it.
        avx2::quantize_row(row, x.dtype, recip, x.cols, rs.scale, rs.inv_scale, o, codes,
                           !tensor_scale && r + 1 < r1 ? row_ptr(x, r + 1) : nullptr, x.dtype);
      } else {
        visit_float_dtype(x.dtype, [&](auto io) {
          using IO = decltype(io);
          quantize_row<IO>(static_cast<const typename IO::storage*>(row), recip, x.cols, rs, o, codes);
        });
      }
    }
  });
}

}  // namespace smoothcheck::kernels::cpu
