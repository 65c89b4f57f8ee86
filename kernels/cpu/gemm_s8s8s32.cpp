// numerics.md §7: acc [M, N] = a [M, K] int8 · b [N, K]ᵀ int8, exact in int32 (K < kGemmMaxK, the
// argument contract), and
// the same product with the vLLM or lmdeploy epilogue fused (gemm_w8a8); both also with b prepacked
// once (pack_gemm_weight, gemm_*_packed).
//
// AVX2 path, GotoBLAS-style: all of a is packed once per call (int16 pairs, panels of kGemmMr rows, in
// parallel); threads are handed equal runs of b panels, row block by row block, cut into kMc x kNc
// tiles; for each kGemmNr-column panel of the tile and each kKc slice of K (kKcShortBlock at decode) a
// thread makes that slice of b's panel (kKc x 16 int16, 4 KiB: stays in L1) and runs the 4x16
// microkernel down the row block over it into an int32 tile buffer; the finished tile is written out
// (int32) or through the epilogue. The b slice comes from b's rows, packed on the spot (plain calls: no
// copy of all of b per call), or from a prepacked weight's int8 panels, widened on the spot (half the
// bytes of int16 to stream at decode, where every weight byte is used by only M rows). Packing pads M, N
// and odd K with zeros, so the microkernel has no edge cases; every path feeds it the same int16 values,
// so results are identical.
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
#include "kernels/packed_gemm_weight.h"

namespace smoothcheck::kernels {
namespace {

using cpu::avx2::kGemmMr;
using cpu::avx2::kGemmNr;
// Blocking, measured on this Zen 4 (1 MiB L2, 32 KiB L1d; single thread, M = 512, the LLaMA-2-7B
// linears): each b slice, once made, serves every a panel of the row block, so a tall block amortises
// making it (72 rows: 150-155 GOP/s; 256 rows: 162-168); a short slice keeps the block's a slice
// (256 x 128 int16, 64 KiB) and the b slice (4 KiB) close to L1 (k 256: 153-162, k 128: 162-168).
constexpr int64_t kMc = 64 * kGemmMr;  // 256 rows: the row block
constexpr int64_t kNc = 16 * kGemmNr;  // 256 columns: the int32 tile (256 x 256, 256 KiB) in L2
constexpr int64_t kKc = 128;           // k per slice (even): one b panel slice is 4 KiB
// k per slice for a short row block (decode), whose a stays in L2 whole: each microkernel call then
// runs 256 pairs instead of 64, so starting and storing its tile is amortised 4x, and one slice's b
// (16 KiB as int16), a 16-row a slice (16 KiB) and the int8 b it is widened from (8 KiB) fit the 48 KiB
// L1 together. On the Xeon VM, timed through the backend API by a standalone loop: M 16 x N 256 x K 4096
// prepacked on one core, 135-137 GOP/s at 128, 138-140 at 512, 140-141 at 1024; 2 threads at
// 4096 x 4096 and the two 11008 shapes, 512 against 1024 alternately: 1-3 % faster.
constexpr int64_t kKcShortBlock = 512;
// A row block whose packed a is at most this size (half of the 1 MiB L2) stays in L2 whole.
constexpr int64_t kSmallBlockBytes = 512 * 1024;
constexpr int64_t kCacheLine = 64;
constexpr int64_t kPrefetchSlices = 2;  // how many slices ahead b's rows are prefetched (see gemm_avx2)

// Called with each finished tile: rows [m0, m0 + mc), columns [n0, n0 + nc), tile(i, j) at c[i * ldc + j].
using TileSink = std::function<void(int64_t m0, int64_t mc, int64_t n0, int64_t nc, const int32_t* c, int64_t ldc)>;

const int8_t* i8_row(const ConstMatrix& m, int64_t r) { return static_cast<const int8_t*>(m.data) + r * m.row_stride; }

// The layouts a CPU packed weight keeps: the AVX2 path's int8 panels (pack_b_panel_i8: panel p of
// kGemmNr rows at p * kp * kGemmNr bytes, kp = K rounded up to even), or b's rows (the portable path's).
enum class PackedLayout { panels, rows };

class CpuPackedGemmWeight final : public PackedGemmWeight {
 public:
  CpuPackedGemmWeight(int64_t n, int64_t k, PackedLayout layout, std::size_t bytes)
      : PackedGemmWeight(n, k), layout_(layout), bytes_(new int8_t[bytes]) {}
  PackedLayout layout() const { return layout_; }
  int8_t* data() { return bytes_.get(); }
  const int8_t* data() const { return bytes_.get(); }
  // b as the argument checks see it (a non-null pointer: its shape is what they check).
  ConstMatrix shape() const { return ConstMatrix{bytes_.get(), DType::i8, rows(), cols(), cols()}; }

 private:
  PackedLayout layout_;
  std::unique_ptr<int8_t[]> bytes_;
};

int64_t padded_k(int64_t k) { return k + (k & 1); }
int64_t panel_count(int64_t n) { return (n + kGemmNr - 1) / kGemmNr; }

// Where the AVX2 driver takes each b panel slice from: b's rows, or a prepacked weight's int8 panels.
struct BSource {
  const int8_t* rows = nullptr;  // b [N, K], row stride ld
  int64_t ld = 0;
  const int8_t* panels = nullptr;
};

void gemm_avx2(const ConstMatrix& a, const BSource& b, int64_t N, int64_t K, int threads, const TileSink& sink) {
  const int64_t M = a.rows;
  const int64_t kp = padded_k(K);
  // All of a packed once, before the tiles, in parallel: a row block is then shared by every tile of its
  // row (at decode one block serves every thread's tiles) instead of being packed per range of tiles.
  // Not value-initialised: packing writes every element, the zero padding included.
  const int64_t apanels = (M + kGemmMr - 1) / kGemmMr;
  std::unique_ptr<int16_t[]> packed_a(new int16_t[std::size_t(apanels * kp * kGemmMr)]);
  if (K > 0)
    cpu::parallel_for(apanels, cpu::grain_for_bytes(kp * kGemmMr * 2), threads, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        cpu::avx2::pack_a_panel(i8_row(a, p * kGemmMr), a.row_stride, std::min<int64_t>(kGemmMr, M - p * kGemmMr), K,
                                &packed_a[std::size_t(p * kp * kGemmMr)]);
    });

  const int64_t mblocks = (M + kMc - 1) / kMc, npanels = (N + kGemmNr - 1) / kGemmNr;
  constexpr int64_t kTilePanels = kNc / kGemmNr;
  // Threads are handed runs of b panels, row block by row block, each run cut into tiles of at most kNc
  // columns: the runs differ by at most one panel, where whole tiles differed by up to a tile in a
  // chunk (decode at N 11008: 43 tiles in 8 chunks of 5 or 6, the last thread finishing up to a tile
  // later; M 16 x N 11008 x K 4096 prepacked, 2 threads, the same standalone loop: 281-287 -> 308-313
  // GOP/s, alternating runs).
  // A thread's run of a prepacked b is also one memory stream. A tile is at least kMc * kNc * 2 * K
  // operations: always worth a thread of its own, hence the grain.
  cpu::parallel_for(mblocks * npanels, kTilePanels, threads, [&](int64_t u0, int64_t u1) {
    // Not value-initialised: the first k slice of every microtile overwrites its part of the tile.
    std::unique_ptr<int32_t[]> tile(new int32_t[std::size_t(kMc * kNc)]);
    std::unique_ptr<int16_t[]> b_slice(new int16_t[std::size_t(std::max(kKc, kKcShortBlock) * kGemmNr)]);
    for (int64_t u = u0; u < u1;) {
      const int64_t ib = u / npanels, first = u % npanels;
      const int64_t last = std::min({first + kTilePanels, npanels, first + (u1 - u)});
      u += last - first;
      const int64_t m0 = ib * kMc, mc = std::min(kMc, M - m0);
      const int64_t n0 = first * kGemmNr, nc = std::min(last * kGemmNr, N) - n0;
      const int64_t mp = (mc + kGemmMr - 1) / kGemmMr, np = (nc + kGemmNr - 1) / kGemmNr;
      const int16_t* a_block = &packed_a[std::size_t((m0 / kGemmMr) * kp * kGemmMr)];
      if (K == 0) std::fill(tile.get(), tile.get() + kMc * kNc, 0);
      // The tile's (panel, k slice) pairs in the order they run. A short row block (decode: its packed a
      // stays in L2 whole) takes each b panel front to back, so a prepacked panel is one memory stream; a
      // tall one takes k slice by k slice, so the block's a slice (256 x 128 int16) stays cached across
      // the tile's panels.
      const bool panel_major = mp * kp * kGemmMr * int64_t(sizeof(int16_t)) <= kSmallBlockBytes;
      const int64_t kstep = panel_major ? kKcShortBlock : kKc;
      const int64_t kslices = (kp + kstep - 1) / kstep, slices = np * kslices;
      auto slice_at = [&](int64_t s, int64_t* jr, int64_t* pc) {
        *jr = panel_major ? s / kslices : s % np;
        *pc = (panel_major ? s % kslices : s / np) * kstep;
      };
      // b's rows for the slice kPrefetchSlices ahead are requested while this one runs: at decode b is
      // read once, from DRAM, and packing a slice would otherwise wait for its lines (the hardware
      // prefetcher runs only a few lines ahead of demand). A prepacked b needs none of this: the widening
      // pass prefetches its own stream (gemm_block_widening).
      auto prefetch_rows = [&](int64_t s) {
        if (s >= slices || b.panels) return;
        int64_t jr = 0, pc = 0;
        slice_at(s, &jr, &pc);
        const int64_t n = n0 + jr * kGemmNr, kc = std::min(kstep, kp - pc);
        const int64_t rows = std::min(N - n, int64_t(kGemmNr));
        const int64_t lines = (std::min(kc, K - pc) + kCacheLine - 1) / kCacheLine;
        for (int64_t i = 0; i < rows * lines; ++i)
          __builtin_prefetch(b.rows + (n + i / lines) * b.ld + pc + (i % lines) * kCacheLine, 0, 3);
      };
      for (int64_t s = 0; s < slices; ++s) {
        if (s == 0)
          for (int64_t ahead = 1; ahead < kPrefetchSlices; ++ahead) prefetch_rows(ahead);
        int64_t jr = 0, pc = 0;
        slice_at(s, &jr, &pc);
        const int64_t n = n0 + jr * kGemmNr, kc = std::min(kstep, kp - pc);
        prefetch_rows(s + kPrefetchSlices);
        if (b.panels) {
          // Widened by the first a panel's pass as it computes (gemm_block_widening).
          cpu::avx2::gemm_block_widening(a_block + pc * kGemmMr, kp * kGemmMr, mp,
                                         b.panels + ((n / kGemmNr) * kp + pc) * kGemmNr, b_slice.get(), kc / 2,
                                         tile.get() + jr * kGemmNr, kNc, pc > 0);
          continue;
        }
        cpu::avx2::pack_b_panel(b.rows + n * b.ld + pc, b.ld, std::min<int64_t>(kGemmNr, N - n), std::min(kc, K - pc),
                                b_slice.get());
        cpu::avx2::gemm_block(a_block + pc * kGemmMr, kp * kGemmMr, mp, b_slice.get(), 0, 1, kc / 2,
                              tile.get() + jr * kGemmNr, kNc, pc > 0);
      }
      sink(m0, mc, n0, nc, tile.get(), kNc);
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
      // One k slice of a (kMc rows) and b (kNc rows) stays in cache while every pair is formed.
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

// The portable path given a weight the AVX2 path packed (another CpuBackend's): b's rows restored.
std::vector<int8_t> rows_of_panels(const CpuPackedGemmWeight& w) {
  const int64_t N = w.rows(), K = w.cols(), kp = padded_k(K);
  std::vector<int8_t> rows(std::size_t(N * K));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      rows[std::size_t(n * K + k)] = w.data()[((n / kGemmNr) * kp + (k & ~int64_t(1))) * kGemmNr + (n % kGemmNr) * 2 + (k & 1)];
  return rows;
}

void gemm_rows(bool avx2, int threads, const ConstMatrix& a, const ConstMatrix& b, const TileSink& sink) {
  if (avx2) gemm_avx2(a, BSource{static_cast<const int8_t*>(b.data), b.row_stride, nullptr}, b.rows, b.cols, threads, sink);
  else gemm_scalar(a, b, threads, sink);
}

void gemm_prepacked(bool avx2, int threads, const ConstMatrix& a, const CpuPackedGemmWeight& w, const TileSink& sink) {
  if (w.layout() == PackedLayout::rows) return gemm_rows(avx2, threads, a, w.shape(), sink);
  if (avx2) return gemm_avx2(a, BSource{nullptr, 0, w.data()}, w.rows(), w.cols(), threads, sink);
  const std::vector<int8_t> rows = rows_of_panels(w);
  gemm_scalar(a, ConstMatrix{rows.data(), DType::i8, w.rows(), w.cols(), w.cols()}, threads, sink);
}

TileSink int32_sink(const MutMatrix& acc) {
  return [acc](int64_t m0, int64_t mc, int64_t n0, int64_t nc, const int32_t* c, int64_t ldc) {
    for (int64_t i = 0; i < mc; ++i)
      std::memcpy(static_cast<int32_t*>(cpu::row_ptr(acc, m0 + i)) + n0, c + i * ldc, std::size_t(nc) * sizeof(int32_t));
  };
}

TileSink epilogue_sink(bool avx2, const float* scale_a, const float* scale_b, const ConstVector& bias, Epilogue epilogue,
                       const MutMatrix& out) {
  const int64_t esize = int64_t(dtype_size(out.dtype));
  return [=](int64_t m0, int64_t mc, int64_t n0, int64_t nc, const int32_t* c, int64_t ldc) {
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
}

}  // namespace

void CpuBackend::gemm_s8s8s32(ConstMatrix a, ConstMatrix b, MutMatrix acc) {
  validate_gemm_s8s8s32(cpu::kBackend, a, b, acc);
  if (a.rows == 0 || b.rows == 0) return;
  gemm_rows(use_avx2(), threads(), a, b, int32_sink(acc));
}

void CpuBackend::gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* scale_a, const float* scale_b, ConstVector bias,
                           Epilogue epilogue, MutMatrix out) {
  validate_gemm_w8a8(cpu::kBackend, a, b, scale_a, scale_b, bias, epilogue, out);
  if (a.rows == 0 || b.rows == 0) return;
  gemm_rows(use_avx2(), threads(), a, b, epilogue_sink(use_avx2(), scale_a, scale_b, bias, epilogue, out));
}

// The AVX2 path keeps int8 panels (the layout its driver reads, at half the bytes of its int16 panels);
// the portable path keeps b's rows.
std::unique_ptr<PackedGemmWeight> CpuBackend::pack_gemm_weight(ConstMatrix b) {
  validate_gemm_weight(cpu::kBackend, b);
  const int64_t N = b.rows, K = b.cols;
  if (!use_avx2()) {
    auto w = std::make_unique<CpuPackedGemmWeight>(N, K, PackedLayout::rows, std::size_t(N * K));
    for (int64_t n = 0; n < N; ++n) std::memcpy(w->data() + n * K, i8_row(b, n), std::size_t(K));
    return w;
  }
  const int64_t kp = padded_k(K), npanels = panel_count(N);
  auto w = std::make_unique<CpuPackedGemmWeight>(N, K, PackedLayout::panels, std::size_t(npanels * kp * kGemmNr));
  if (K > 0)
    cpu::parallel_for(npanels, cpu::grain_for_bytes(kp * kGemmNr), threads(), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        cpu::avx2::pack_b_panel_i8(i8_row(b, p * kGemmNr), b.row_stride, std::min<int64_t>(kGemmNr, N - p * kGemmNr), K,
                                   w->data() + p * kp * kGemmNr);
    });
  return w;
}

void CpuBackend::gemm_s8s8s32_packed(ConstMatrix a, const PackedGemmWeight& b, MutMatrix acc) {
  const auto& w = packed_as<CpuPackedGemmWeight>(b, cpu::kBackend, "gemm_s8s8s32_packed");
  validate_gemm_s8s8s32(cpu::kBackend, a, w.shape(), acc);
  if (a.rows == 0 || w.rows() == 0) return;
  gemm_prepacked(use_avx2(), threads(), a, w, int32_sink(acc));
}

void CpuBackend::gemm_w8a8_packed(ConstMatrix a, const PackedGemmWeight& b, const float* scale_a, const float* scale_b,
                                  ConstVector bias, Epilogue epilogue, MutMatrix out) {
  const auto& w = packed_as<CpuPackedGemmWeight>(b, cpu::kBackend, "gemm_w8a8_packed");
  validate_gemm_w8a8(cpu::kBackend, a, w.shape(), scale_a, scale_b, bias, epilogue, out);
  if (a.rows == 0 || w.rows() == 0) return;
  gemm_prepacked(use_avx2(), threads(), a, w, epilogue_sink(use_avx2(), scale_a, scale_b, bias, epilogue, out));
}

}  // namespace smoothcheck::kernels
