// The CUDA backend's index math, checked on the CPU (label cpu): kernels/cuda/launch_plan.h is what
// the kernels execute, so these tests cover the tiling, splits and fragment layouts that no machine
// without a GPU could otherwise check. The mma.sync fragment layouts are checked against the PTX ISA's
// element formulas, written out here independently, and a whole GEMM is emulated through the plan's
// functions and compared with a naive product.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "kernels/cuda/launch_plan.h"

namespace smoothcheck::kernels::cuda_plan {
namespace {

std::vector<int64_t> row_lengths() {
  std::vector<int64_t> v;
  for (int64_t c = 0; c <= 300; ++c) v.push_back(c);
  for (int64_t c : {1023, 1024, 1025, 1026, 4096, 5137, 8193, 11008}) v.push_back(c);
  return v;
}

// The traversal of for_each_in_row (device_common.cuh), element indices only.
std::vector<int> visit_counts(const RowSplit& s, int64_t cols) {
  std::vector<int> seen(std::size_t(cols), 0);
  for (int64_t j = 0; j < s.head; ++j) ++seen.at(std::size_t(j));
  for (int64_t v = 0; v < s.vectors; ++v)
    for (int k = 0; k < s.per_vector; ++k) ++seen.at(std::size_t(s.head + v * s.per_vector + k));
  for (int64_t j = s.head + s.vectors * s.per_vector; j < cols; ++j) ++seen.at(std::size_t(j));
  return seen;
}

TEST(SplitRow, PartitionsEveryRowExactlyOnce) {
  for (int elem : {1, 2, 4})
    for (int mis = 0; mis < 16; ++mis)
      for (int64_t cols : row_lengths()) {
        const uint64_t start = 4096 + uint64_t(mis);
        const RowSplit s = split_row(start, cols, elem);
        SCOPED_TRACE("elem " + std::to_string(elem) + " misalignment " + std::to_string(mis) + " cols " +
                     std::to_string(cols));
        ASSERT_EQ(s.per_vector, 16 / elem);
        ASSERT_GE(s.head, 0);
        ASSERT_GE(s.vectors, 0);
        ASSERT_GE(s.tail, 0);
        ASSERT_EQ(s.head + s.vectors * s.per_vector + s.tail, cols);
        for (int c : visit_counts(s, cols)) ASSERT_EQ(c, 1);
        if (s.vectors > 0) {
          // the first vector starts on a 16-byte boundary, and no vector reads past the row
          ASSERT_EQ((start + uint64_t(s.head) * elem) % 16, 0u);
          ASSERT_LE(s.head + s.vectors * s.per_vector, cols);
        }
        if (mis % elem == 0) {
          ASSERT_LT(s.head, s.per_vector);
          ASSERT_LT(s.tail, s.per_vector);
        } else {
          ASSERT_EQ(s.vectors, 0);  // an address that is not element-aligned is read as scalars
        }
      }
}

TEST(SplitRow, AlignedLongRowsAreAllVectors) {
  EXPECT_EQ(split_row(0, 4096, 2).vectors, 512);
  EXPECT_EQ(split_row(0, 4096, 2).head, 0);
  EXPECT_EQ(split_row(0, 11008, 4).vectors, 2752);
  const RowSplit odd = split_row(2, 11008, 2);  // a bf16 row starting 2 bytes past a boundary
  EXPECT_EQ(odd.head, 7);
  EXPECT_EQ(odd.vectors, (11008 - 7) / 8);
  EXPECT_EQ(odd.tail, 11008 - 7 - odd.vectors * 8);
}

// Every row of a grid-stride loop is visited by exactly one block (counts add up, and the explicit
// enumeration has no duplicate).
TEST(RowLaunch, GridStrideCoversEveryRow) {
  for (int64_t rows : {int64_t(0), int64_t(1), int64_t(7), int64_t(4096), int64_t(100000)}) {
    const Launch1D l = plan_rows(rows);
    EXPECT_EQ(l.block, kRowBlock);
    EXPECT_EQ(l.grid, rows);  // one block per token below the cap
  }
  EXPECT_EQ(plan_rows(int64_t(1) << 40).grid, kMaxGridX);
  for (int64_t rows : {1, 5, 64, 1000})
    for (int64_t grid : {int64_t(1), int64_t(3), int64_t(64), rows}) {
      std::vector<int> seen(std::size_t(rows), 0);
      int64_t total = 0;
      for (int64_t b = 0; b < grid; ++b) {
        for (int64_t r = b; r < rows; r += grid) ++seen[std::size_t(r)];
        total += grid_stride_count(b, grid, rows);
      }
      EXPECT_EQ(total, rows);
      for (int c : seen) ASSERT_EQ(c, 1);
    }
}

TEST(RowLaunch, ElementGridsCoverEveryElement) {
  for (int64_t n : {0, 1, 255, 256, 257, 4096, 11008, 1 << 20}) {
    const Launch1D l = plan_elements(n);
    if (n == 0) {
      EXPECT_EQ(l.grid, 0);
      continue;
    }
    EXPECT_GE(l.grid * l.block, n);
    EXPECT_LT((l.grid - 1) * l.block, n);
  }
}

TEST(RmsLaunch, EveryTokenHasOneWarp) {
  for (int64_t rows : {1, 3, 4, 5, 7, 4096, 4097}) {
    const Launch1D l = plan_rms_rows(rows);
    EXPECT_EQ(l.block, kRmsWarpsPerBlock * kWarp);
    std::vector<int> seen(std::size_t(rows), 0);
    const int64_t step = l.grid * kRmsWarpsPerBlock;
    for (int64_t b = 0; b < l.grid; ++b)
      for (int w = 0; w < kRmsWarpsPerBlock; ++w)
        for (int64_t r = rms_row_of(b, w); r < rows; r += step) ++seen[std::size_t(r)];
    for (int c : seen) ASSERT_EQ(c, 1);
  }
  EXPECT_EQ(plan_rms_rows(0).grid, 0);
}

// ---- GEMM ----------------------------------------------------------------------------------------
TEST(GemmPlan, PadsToWholeTiles) {
  GemmPlan p;
  ASSERT_EQ(plan_gemm(1, 17, 5, &p), "");
  EXPECT_EQ(p.m_pad, 128);
  EXPECT_EQ(p.n_pad, 128);
  EXPECT_EQ(p.k_pad, 32);
  EXPECT_EQ(p.k_tiles, 1);
  ASSERT_EQ(plan_gemm(4096, 11008, 4096, &p), "");
  EXPECT_EQ(p.grid_m, 32);
  EXPECT_EQ(p.grid_n, 86);
  EXPECT_EQ(p.k_tiles, 128);
  ASSERT_EQ(plan_gemm(7, 4096, 11008, &p), "");
  EXPECT_EQ(p.k_tiles, 344);
  ASSERT_EQ(plan_gemm(5, 3, 0, &p), "");
  EXPECT_EQ(p.k_tiles, 0);
  EXPECT_NE(plan_gemm(int64_t(65536) * 128 + 1, 8, 8, &p), "");
  EXPECT_NE(plan_gemm(-1, 8, 8, &p), "");
}

TEST(GemmPlan, CopyChunksCoverTheTileOnce) {
  std::set<std::pair<int, int>> seen;
  for (int tid = 0; tid < kGemmThreads; ++tid) {
    const TileChunk c = gemm_copy_chunk(tid);
    ASSERT_GE(c.row, 0);
    ASSERT_LT(c.row, kGemmBM);
    ASSERT_EQ(c.byte % 16, 0);
    ASSERT_LT(c.byte, kGemmBK);
    ASSERT_EQ((c.row * kGemmSmemPitch + c.byte) % 16, 0);  // cp.async 16-byte destination
    ASSERT_TRUE(seen.insert({c.row, c.byte}).second);
  }
  EXPECT_EQ(seen.size(), std::size_t(kGemmBM * kGemmBK / 16));
  static_assert(kGemmBM == kGemmBN, "one chunk map serves both operands");
}

// Every (m, n) of the padded output, and so of the real one, is produced by exactly one register of
// one lane of one warp of one block.
TEST(GemmPlan, AccumulatorPositionsCoverEveryOutputOnce) {
  for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {17, 33}, {128, 128}, {130, 250}, {300, 129}}) {
    GemmPlan p;
    ASSERT_EQ(plan_gemm(m, n, 64, &p), "");
    std::map<std::pair<int64_t, int64_t>, int> seen;
    for (int64_t bm = 0; bm < p.grid_m; ++bm)
      for (int64_t bn = 0; bn < p.grid_n; ++bn)
        for (int warp = 0; warp < kGemmThreads / kWarp; ++warp)
          for (int mt = 0; mt < kGemmMmaTilesM; ++mt)
            for (int nt = 0; nt < kGemmMmaTilesN; ++nt)
              for (int lane = 0; lane < kWarp; ++lane)
                for (int reg = 0; reg < 4; ++reg) {
                  const MatrixPos pos = gemm_acc_position(bm, bn, warp, mt, nt, reg, lane);
                  ASSERT_GE(pos.row, bm * kGemmBM);
                  ASSERT_LT(pos.row, (bm + 1) * kGemmBM);
                  ASSERT_GE(pos.col, bn * kGemmBN);
                  ASSERT_LT(pos.col, (bn + 1) * kGemmBN);
                  ++seen[{pos.row, pos.col}];
                }
    ASSERT_EQ(seen.size(), std::size_t(p.m_pad * p.n_pad));
    for (const auto& [pos, count] : seen) ASSERT_EQ(count, 1);
  }
}

// PTX ISA 9.7.14.5.x, mma.m16n8k32 with .s8/.u8: the element formulas, written per element index i
// (i = 4 * register + byte), independently of the plan's per-register functions.
int ptx_a_row(int i, int lane) { return (i < 4 || (i >= 8 && i < 12)) ? lane >> 2 : (lane >> 2) + 8; }
int ptx_a_col(int i, int lane) { return (lane % 4) * 4 + (i & 3) + (i >= 8 ? 16 : 0); }
int ptx_b_row(int i, int lane) { return (lane % 4) * 4 + (i & 3) + (i >= 4 ? 16 : 0); }  // k
int ptx_b_col(int, int lane) { return lane >> 2; }                                       // n
int ptx_c_row(int i, int lane) { return i < 2 ? lane >> 2 : (lane >> 2) + 8; }
int ptx_c_col(int i, int lane) { return (lane % 4) * 2 + (i & 1); }

TEST(MmaFragments, MatchThePtxLayout) {
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 16; ++i) {
      EXPECT_EQ(frag_a_row(i / 4, lane), ptx_a_row(i, lane)) << "lane " << lane << " a" << i;
      EXPECT_EQ(frag_a_k(i / 4, lane) + i % 4, ptx_a_col(i, lane)) << "lane " << lane << " a" << i;
    }
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(frag_b_k(i / 4, lane) + i % 4, ptx_b_row(i, lane)) << "lane " << lane << " b" << i;
      EXPECT_EQ(frag_b_n(i / 4, lane), ptx_b_col(i, lane)) << "lane " << lane << " b" << i;
    }
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(frag_c_row(i, lane), ptx_c_row(i, lane));
      EXPECT_EQ(frag_c_col(i, lane), ptx_c_col(i, lane));
    }
  }
}

// One 32-bit shared-memory load per register: the 32 lanes of a warp hit 32 distinct banks (or share a
// word), for every register and every mma tile, on both operands.
TEST(MmaFragments, SharedMemoryLoadsAreBankConflictFree) {
  for (int warp = 0; warp < kGemmThreads / kWarp; ++warp)
    for (int t = 0; t < 4; ++t)
      for (int reg = 0; reg < 4; ++reg)
        for (int operand = 0; operand < 2; ++operand) {
          if (operand == 1 && reg >= 2) continue;
          std::map<int, std::set<int>> words_by_bank;
          for (int lane = 0; lane < 32; ++lane) {
            const int byte = operand == 0 ? (gemm_warp_row0(warp) + t * kMmaM + frag_a_row(reg, lane)) * kGemmSmemPitch +
                                                frag_a_k(reg, lane)
                                          : (gemm_warp_col0(warp) + t * kMmaN + frag_b_n(reg, lane)) * kGemmSmemPitch +
                                                frag_b_k(reg, lane);
            ASSERT_EQ(byte % 4, 0);
            ASSERT_LT(byte + 4, kGemmSmemTileBytes + 1);
            words_by_bank[(byte / 4) % 32].insert(byte / 4);
          }
          for (const auto& [bank, words] : words_by_bank) ASSERT_EQ(words.size(), 1u) << "bank " << bank;
        }
}

// The whole kernel's data flow on the CPU: padded operands, cp.async chunks into the shared tile,
// fragment registers, an mma emulated from the PTX element formulas, the epilogue's positions.
std::vector<int32_t> emulate_gemm(const std::vector<int8_t>& a, const std::vector<int8_t>& b, int64_t m, int64_t n,
                                  int64_t k) {
  GemmPlan p;
  EXPECT_EQ(plan_gemm(m, n, k, &p), "");
  std::vector<int8_t> ap(std::size_t(p.m_pad * p.k_pad), 0), bp(std::size_t(p.n_pad * p.k_pad), 0);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < k; ++c) ap[std::size_t(r * p.k_pad + c)] = a[std::size_t(r * k + c)];
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) bp[std::size_t(r * p.k_pad + c)] = b[std::size_t(r * k + c)];
  std::vector<int32_t> out(std::size_t(m * n), INT32_MIN);
  const int warps = kGemmThreads / kWarp;
  for (int64_t bm = 0; bm < p.grid_m; ++bm)
    for (int64_t bn = 0; bn < p.grid_n; ++bn) {
      // acc[warp][mt][nt][lane][reg]
      std::vector<int32_t> acc(std::size_t(warps * kGemmMmaTilesM * kGemmMmaTilesN * 32 * 4), 0);
      auto A = [&](int w, int mt, int nt, int lane, int reg) -> int32_t& {
        return acc[std::size_t((((w * kGemmMmaTilesM + mt) * kGemmMmaTilesN + nt) * 32 + lane) * 4 + reg)];
      };
      for (int64_t kt = 0; kt < p.k_tiles; ++kt) {
        std::vector<int8_t> sa(kGemmSmemTileBytes, 99), sb(kGemmSmemTileBytes, 99);  // 99: never-written bytes
        for (int tid = 0; tid < kGemmThreads; ++tid) {
          const TileChunk c = gemm_copy_chunk(tid);
          for (int i = 0; i < 16; ++i) {
            const int64_t g = int64_t(c.row) * p.k_pad + kt * kGemmBK + c.byte + i;
            sa[std::size_t(c.row * kGemmSmemPitch + c.byte + i)] = ap[std::size_t(bm * kGemmBM * p.k_pad + g)];
            sb[std::size_t(c.row * kGemmSmemPitch + c.byte + i)] = bp[std::size_t(bn * kGemmBN * p.k_pad + g)];
          }
        }
        for (int w = 0; w < warps; ++w)
          for (int mt = 0; mt < kGemmMmaTilesM; ++mt)
            for (int nt = 0; nt < kGemmMmaTilesN; ++nt) {
              // registers as the kernel loads them, then the 16x32 and 32x8 tiles the PTX formulas say
              int8_t ta[16][32], tb[32][8];
              for (int lane = 0; lane < 32; ++lane) {
                for (int reg = 0; reg < 4; ++reg)
                  for (int byte = 0; byte < 4; ++byte) {
                    const int i = reg * 4 + byte;
                    ta[ptx_a_row(i, lane)][ptx_a_col(i, lane)] =
                        sa[std::size_t((gemm_warp_row0(w) + mt * kMmaM + frag_a_row(reg, lane)) * kGemmSmemPitch +
                                       frag_a_k(reg, lane) + byte)];
                  }
                for (int reg = 0; reg < 2; ++reg)
                  for (int byte = 0; byte < 4; ++byte) {
                    const int i = reg * 4 + byte;
                    tb[ptx_b_row(i, lane)][ptx_b_col(i, lane)] =
                        sb[std::size_t((gemm_warp_col0(w) + nt * kMmaN + frag_b_n(reg, lane)) * kGemmSmemPitch +
                                       frag_b_k(reg, lane) + byte)];
                  }
              }
              for (int lane = 0; lane < 32; ++lane)
                for (int i = 0; i < 4; ++i) {
                  int32_t s = 0;
                  for (int kk = 0; kk < 32; ++kk) s += int32_t(ta[ptx_c_row(i, lane)][kk]) * tb[kk][ptx_c_col(i, lane)];
                  A(w, mt, nt, lane, i) += s;
                }
            }
      }
      for (int w = 0; w < warps; ++w)
        for (int mt = 0; mt < kGemmMmaTilesM; ++mt)
          for (int nt = 0; nt < kGemmMmaTilesN; ++nt)
            for (int lane = 0; lane < 32; ++lane)
              for (int reg = 0; reg < 4; ++reg) {
                const MatrixPos pos = gemm_acc_position(bm, bn, w, mt, nt, reg, lane);
                if (pos.row < m && pos.col < n) out[std::size_t(pos.row * n + pos.col)] = A(w, mt, nt, lane, reg);
              }
    }
  return out;
}

TEST(GemmEmulation, TiledDataFlowEqualsTheNaiveProduct) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> code(-128, 127);
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {3, 5, 7}, {17, 33, 31}, {128, 128, 32}, {129, 130, 65}, {200, 8, 100}, {16, 136, 0}}) {
    SCOPED_TRACE("M " + std::to_string(m) + " N " + std::to_string(n) + " K " + std::to_string(k));
    std::vector<int8_t> a(std::size_t(m * k)), b(std::size_t(n * k));
    for (auto& v : a) v = int8_t(code(rng));
    for (auto& v : b) v = int8_t(code(rng));
    if (!a.empty()) a[0] = -128;  // the extreme code takes part
    const std::vector<int32_t> got = emulate_gemm(a, b, m, n, k);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        int32_t want = 0;
        for (int64_t kk = 0; kk < k; ++kk) want += int32_t(a[std::size_t(r * k + kk)]) * b[std::size_t(c * k + kk)];
        ASSERT_EQ(got[std::size_t(r * n + c)], want) << "at (" << r << ", " << c << ")";
      }
  }
}

TEST(CublasLt, ConstraintsNameTheRule) {
  EXPECT_EQ(cublaslt_int8_constraint(7, 4096, 4096), "");
  EXPECT_EQ(cublaslt_int8_constraint(1, 4, 4), "");
  EXPECT_NE(cublaslt_int8_constraint(7, 4096, 4097).find("K % 4 == 0"), std::string::npos);
  EXPECT_NE(cublaslt_int8_constraint(7, 4098, 4096).find("N % 4 == 0"), std::string::npos);
}

TEST(WeightGroups, WholeGroupsPerRow) {
  std::string why;
  EXPECT_EQ(weight_groups_per_row(4096, 0, &why), 1);
  EXPECT_EQ(weight_groups_per_row(4096, -1, &why), 1);
  EXPECT_EQ(weight_groups_per_row(4096, 128, &why), 32);
  EXPECT_EQ(weight_groups_per_row(100, 30, &why), -1);
  EXPECT_NE(why.find("group_size 30"), std::string::npos);
}

}  // namespace
}  // namespace smoothcheck::kernels::cuda_plan
