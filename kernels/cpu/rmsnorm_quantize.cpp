// numerics.md §6, lmdeploy's rms_norm_dynamic_quant: f32 sum of squares in numerics.h's canonical
// 32-lane order (fma per element, halving tree), inv = 1/sqrt(mean + eps) correctly rounded,
// y = w * (x * inv) rounded to the activation dtype, then per-token quantisation of y with the
// caller's options. Threads own rows; the scalar path recomputes y in its code pass, the AVX2 path keeps
// it in a row buffer (identical values either way).
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::kernels {
namespace {

template <class IO>
float sum_squares(const typename IO::storage* x, int64_t n) {
  float lanes[numerics::kRmsLanes] = {};
  for (int64_t j = 0; j < n; ++j) {
    float v = IO::load(x + j);
    float& lane = lanes[j % numerics::kRmsLanes];
    lane = std::fma(v, v, lane);
  }
  return numerics::reduce_rms_lanes(lanes);
}

// Calls fn(x_io, w_io) for the activation's and the norm weight's dtypes.
template <class Fn>
void visit_pair(DType xt, DType wt, Fn&& fn) {
  cpu::visit_float_dtype(xt, [&](auto xio) { cpu::visit_float_dtype(wt, [&](auto wio) { fn(xio, wio); }); });
}

template <class XIO, class WIO>
float normalized_absmax(const typename XIO::storage* x, const typename WIO::storage* w, int64_t n, float inv) {
  float m = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    float a = std::fabs(XIO::round_trip(numerics::rms_normalized(XIO::load(x + j), WIO::load(w + j), inv)));
    m = a > m ? a : m;
  }
  return m;
}

template <class XIO, class WIO>
void normalized_codes(const typename XIO::storage* x, const typename WIO::storage* w, int64_t n, float inv,
                      numerics::RowScale rs, const ActQuantOptions& o, int8_t* q) {
  for (int64_t j = 0; j < n; ++j)
    q[j] = numerics::quantize_value(XIO::round_trip(numerics::rms_normalized(XIO::load(x + j), WIO::load(w + j), inv)),
                                    rs, o);
}

}  // namespace

void CpuBackend::rmsnorm_quantize(ConstMatrix x, ConstVector norm_w, float eps, const ActQuantOptions& o,
                                  MutMatrix q, float* scale) {
  validate_rmsnorm_quantize(cpu::kBackend, x, norm_w, eps, o, q, scale);
  if (x.rows == 0 || x.cols == 0) return;

  const bool avx2 = use_avx2();
  const int64_t n = x.cols;
  // The AVX2 path reads a 16-bit norm weight widened to f32 once per call (the widening is exact, so
  // w_j is the same float either way) instead of widening it again for every row.
  std::vector<float> w32;
  if (avx2 && norm_w.dtype != DType::f32) {
    w32.resize(std::size_t(n));
    cpu::visit_float_dtype(norm_w.dtype, [&](auto io) {
      using IO = decltype(io);
      const auto* w = static_cast<const typename IO::storage*>(norm_w.data);
      for (int64_t j = 0; j < n; ++j) w32[std::size_t(j)] = IO::load(w + j);
    });
  }
  const void* w_avx2 = w32.empty() ? norm_w.data : w32.data();
  const DType wt_avx2 = w32.empty() ? norm_w.dtype : DType::f32;
  cpu::parallel_for(x.rows, cpu::grain_for_bytes(n * 6), threads(), [&](int64_t r0, int64_t r1) {
    std::vector<float> y(avx2 ? std::size_t(n) : 0);  // the AVX2 path's normalised row
    for (int64_t r = r0; r < r1; ++r) {
      const void* row = cpu::row_ptr(x, r);
      auto* codes = static_cast<int8_t*>(cpu::row_ptr(q, r));
      if (avx2) {
        float lanes[numerics::kRmsLanes];
        cpu::avx2::rms_lanes(row, x.dtype, n, lanes);
        const float inv = numerics::rms_inverse(numerics::reduce_rms_lanes(lanes), n, eps);
        const void* next = r + 1 < r1 ? cpu::row_ptr(x, r + 1) : nullptr;
        const float absmax = cpu::avx2::rms_normalize_row(row, x.dtype, w_avx2, wt_avx2, n, inv, y.data(), next);
        const numerics::RowScale rs = numerics::row_scale_from_absmax(absmax, o);
        scale[r] = rs.scale;
        if (rs.scale == 0.0f) std::memset(codes, 0, std::size_t(n));
        else cpu::avx2::quantize_row(y.data(), DType::f32, nullptr, n, rs.scale, rs.inv_scale, o, codes);
        continue;
      }
      const float sum = cpu::visit_float_dtype(x.dtype, [&](auto io) {
        using IO = decltype(io);
        return sum_squares<IO>(static_cast<const typename IO::storage*>(row), n);
      });
      const float inv = numerics::rms_inverse(sum, n, eps);
      float absmax = 0.0f;
      visit_pair(x.dtype, norm_w.dtype, [&](auto xio, auto wio) {
        using XIO = decltype(xio);
        using WIO = decltype(wio);
        absmax = normalized_absmax<XIO, WIO>(static_cast<const typename XIO::storage*>(row),
                                             static_cast<const typename WIO::storage*>(norm_w.data), n, inv);
      });
      const numerics::RowScale rs = numerics::row_scale_from_absmax(absmax, o);
      scale[r] = rs.scale;
      if (rs.scale == 0.0f) {
        std::memset(codes, 0, std::size_t(n));
      } else {
        visit_pair(x.dtype, norm_w.dtype, [&](auto xio, auto wio) {
          using XIO = decltype(xio);
          using WIO = decltype(wio);
          normalized_codes<XIO, WIO>(static_cast<const typename XIO::storage*>(row),
                                     static_cast<const typename WIO::storage*>(norm_w.data), n, inv, rs, o, codes);
        });
      }
    }
  });
}

}  // namespace smoothcheck::kernels
