// numerics.md §7: acc [M, N] = a [M, K] int8 · b [N, K]ᵀ int8, exact in int32 (K < kGemmMaxK, the
// argument contract), and
// the same product with the vLLM or lmdeploy epilogue fused (gemm_w8a8).
//
// AVX2 path, GotoBLAS-style: b is packed once into int16 panels of kGemmNr columns (all of K); C is
// cut into kMc x kNc tiles shared out to threads in row-block-major order; a thread packs the kMc
// rows of a it needs (all of K) once per row block, then for each kKc slice of K runs the 6x16
// microkernel over the tile into an int32 tile buffer; the finished tile is written out (int32) or
// through the epilogue. Packing pads M, N and odd K with zeros, so the microkernel has no edge cases.
// Portable path: the same tiles, each entry a plain int8 dot product over one kKc slice.
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::kernels {
namespace {

using cpu::avx2::kGemmMr;
using cpu::avx2::kGemmNr;
constexpr int64_t kMc = 12 * kGemmMr;  // 72 rows: the packed a block slice (72 x 256 int16) in L2
constexpr int64_t kNc = 16 * kGemmNr;  // 256 columns: the int32 tile (72 x 256) in L2
constexpr int64_t kKc = 256;           // k per slice (even): one b panel slice is 8 KiB, in L1

// Called with each finished tile: rows [m0, m0 + mc), columns [n0, n0 + nc), tile(i, j) at c[i * ldc + j].
using TileSink = std::function<void(int64_t m0, int64_t mc, int64_t n0, int64_t nc, const int32_t* c, int64_t ldc)>;

const int8_t* i8_row(const ConstMatrix& m, int64_t r) { return static_cast<const int8_t*>(m.data) + r * m.row_stride; }

void gemm_avx2(const ConstMatrix& a, const ConstMatrix& b, int threads, const TileSink& sink) {
  const int64_t M = a.rows, N = b.rows, K = a.cols;
  const int64_t kp = K + (K & 1);  // K padded to whole pairs
  const int64_t npanels = (N + kGemmNr - 1) / kGemmNr;
  // Not value-initialised (a vector would zero 2 * N * K bytes first): packing writes every element,
  // the zero padding included.
  std::unique_ptr<int16_t[]> packed_b(new int16_t[std::size_t(npanels * kp * kGemmNr)]);
  if (K > 0)
    cpu::parallel_for(npanels, cpu::grain_for_bytes(kp * kGemmNr), threads, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        cpu::avx2::pack_b_panel(i8_row(b, p * kGemmNr), b.row_stride, std::min<int64_t>(kGemmNr, N - p * kGemmNr), K,
                                &packed_b[std::size_t(p * kp * kGemmNr)]);
    });

  const int64_t mblocks = (M + kMc - 1) / kMc, nblocks = (N + kNc - 1) / kNc;
  // One tile is at least ~kMc * kNc * 2 * K operations: always worth a thread of its own.
  cpu::parallel_for(mblocks * nblocks, 1, threads, [&](int64_t t0, int64_t t1) {
    std::unique_ptr<int16_t[]> packed_a(new int16_t[std::size_t(kMc * kp)]);
    std::vector<int32_t> tile(std::size_t(kMc * kNc));
    int64_t packed_block = -1;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ib = t / nblocks, jb = t % nblocks;
      const int64_t m0 = ib * kMc, mc = std::min(kMc, M - m0);
      const int64_t n0 = jb * kNc, nc = std::min(kNc, N - n0);
      const int64_t mp = (mc + kGemmMr - 1) / kGemmMr, np = (nc + kGemmNr - 1) / kGemmNr;
      if (ib != packed_block && K > 0) {
        for (int64_t i = 0; i < mp; ++i)
          cpu::avx2::pack_a_panel(i8_row(a, m0 + i * kGemmMr), a.row_stride, std::min<int64_t>(kGemmMr, mc - i * kGemmMr),
                                  K, &packed_a[std::size_t(i * kp * kGemmMr)]);
        packed_block = ib;
      }
      if (K == 0) std::fill(tile.begin(), tile.end(), 0);
      for (int64_t pc = 0; pc < kp; pc += kKc) {
        const int64_t kc = std::min(kKc, kp - pc);
        cpu::avx2::gemm_block(&packed_a[std::size_t(pc * kGemmMr)], kp * kGemmMr, mp,
                              &packed_b[std::size_t((n0 / kGemmNr) * kp * kGemmNr + pc * kGemmNr)], kp * kGemmNr, np,
                              kc / 2, tile.data(), kNc, pc > 0);
      }
      sink(m0, mc, n0, nc, tile.data(), kNc);
    }
  });
}

void gemm_scalar(const ConstMatrix& a, const ConstMatrix& b, int threads, const TileSink& sink) {
  const int64_t M = a.rows, N = b.rows, K = a.cols;
  const int64_t mblocks = (M + kMc - 1) / kMc, nblocks = (N + kNc - 1) / kNc;
  cpu::parallel_for(mblocks * nblocks, 1, threads, [&](int64_t t0, int64_t t1) {
    std::vector<int32_t> tile(std::size_t(kMc * kNc));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t m0 = (t / nblocks) * kMc, mc = std::min(kMc, M - m0);
      const int64_t n0 = (t % nblocks) * kNc, nc = std::min(kNc, N - n0);
      std::fill(tile.begin(), tile.end(), 0);
      // One k slice of a (72 rows) and b (256 rows) stays in cache while every pair is formed.
      for (int64_t k0 = 0; k0 < K; k0 += kKc) {
        const int64_t kc = std::min(kKc, K - k0);
        for (int64_t i = 0; i < mc; ++i) {
          const int8_t* ar = i8_row(a, m0 + i) + k0;
          int32_t* crow = &tile[std::size_t(i * kNc)];
          for (int64_t j = 0; j < nc; ++j) {
            const int8_t* br = i8_row(b, n0 + j) + k0;
            int32_t s = 0;
            for (int64_t k = 0; k < kc; ++k) s += int32_t(ar[k]) * int32_t(br[k]);
            crow[j] += s;
          }
        }
      }
      sink(m0, mc, n0, nc, tile.data(), kNc);
    }
  });
}

template <class IO>
void epilogue_row(const int32_t* acc, int64_t n, float sa, const float* sb, const typename IO::storage* bias,
                  Epilogue kind, typename IO::storage* out) {
  for (int64_t j = 0; j < n; ++j) {
    if (kind == Epilogue::vllm) {
      // fma(sa, sb * acc, bias), one rounding (numerics::epilogue_vllm, vLLM's CUTLASS multiply_add).
      // Without a bias the addend -0.0f leaves the rounded product, zeros' signs included, as it is.
      IO::store(out + j, numerics::epilogue_vllm(acc[j], sa, sb[j], bias ? IO::load(bias + j) : -0.0f));
    } else {
      float y = numerics::epilogue_lmdeploy(acc[j], sa, sb[j]);
      if (bias) y = numerics::add_rn(IO::round_trip(y), IO::load(bias + j));  // bias added in the output dtype
      IO::store(out + j, y);
    }
  }
}

}  // namespace

void CpuBackend::gemm_s8s8s32(ConstMatrix a, ConstMatrix b, MutMatrix acc) {
  validate_gemm_s8s8s32(cpu::kBackend, a, b, acc);
  if (a.rows == 0 || b.rows == 0) return;
  TileSink sink = [&](int64_t m0, int64_t mc, int64_t n0, int64_t nc, const int32_t* c, int64_t ldc) {
    for (int64_t i = 0; i < mc; ++i)
      std::memcpy(static_cast<int32_t*>(cpu::row_ptr(acc, m0 + i)) + n0, c + i * ldc, std::size_t(nc) * sizeof(int32_t));
  };
  if (use_avx2()) gemm_avx2(a, b, threads(), sink);
  else gemm_scalar(a, b, threads(), sink);
}

void CpuBackend::gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* scale_a, const float* scale_b, ConstVector bias,
                           Epilogue epilogue, MutMatrix out) {
  validate_gemm_w8a8(cpu::kBackend, a, b, scale_a, scale_b, bias, epilogue, out);
  if (a.rows == 0 || b.rows == 0) return;
  const bool avx2 = use_avx2();
  const int64_t esize = int64_t(dtype_size(out.dtype));
  TileSink sink = [&](int64_t m0, int64_t mc, int64_t n0, int64_t nc, const int32_t* c, int64_t ldc) {
    const void* bias_n0 = bias.data ? static_cast<const char*>(bias.data) + n0 * esize : nullptr;
    for (int64_t i = 0; i < mc; ++i) {
      void* dst = static_cast<char*>(cpu::row_ptr(out, m0 + i)) + n0 * esize;
      if (avx2) {
        cpu::avx2::epilogue_row(c + i * ldc, nc, scale_a[m0 + i], scale_b + n0, bias_n0, out.dtype, epilogue, dst);
      } else {
        cpu::visit_float_dtype(out.dtype, [&](auto io) {
          using IO = decltype(io);
          using S = typename IO::storage;
          epilogue_row<IO>(c + i * ldc, nc, scale_a[m0 + i], scale_b + n0, static_cast<const S*>(bias_n0), epilogue,
                           static_cast<S*>(dst));
        });
      }
    }
  };
  if (avx2) gemm_avx2(a, b, threads(), sink);
  else gemm_scalar(a, b, threads(), sink);
}

}  // namespace smoothcheck::kernels
