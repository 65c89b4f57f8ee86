// All index math of the CUDA backend, as plain C++ that the CPU tests cover (cases/cuda/
// launch_plan_tests.cpp): row splits for 16-byte vector loads, grid and block sizes, GEMM tiling and
// padding, the mma.sync m16n8k32 fragment layouts, and the cuBLASLt int8 constraints. The device code
// calls the same functions (LP_HD marks them __host__ __device__ under nvcc), so what the tests check
// is what the kernels execute. No CUDA header is included: the test builds without nvcc.
#pragma once

#include <cstdint>
#include <string>

#if defined(__CUDACC__)
#define LP_HD __host__ __device__ __forceinline__
#else
#define LP_HD inline
#endif

namespace smoothcheck::kernels::cuda_plan {

// ---- rows read with 16-byte vector loads ---------------------------------------------------------
constexpr int kVectorBytes = 16;

// A row of `cols` elements of `elem_size` bytes starting at an address whose value mod 16 is
// `misalignment`: `head` scalar elements up to the first 16-byte boundary, `vectors` 16-byte vectors,
// then `tail` scalar elements. head + vectors * per_vector + tail == cols always. A start that is not
// a multiple of elem_size (impossible for a typed pointer, but the test tries every byte) reads the
// whole row as scalars.
struct RowSplit {
  int64_t head = 0;
  int64_t vectors = 0;
  int64_t tail = 0;
  int per_vector = 1;  // elements per 16-byte vector
};

LP_HD RowSplit split_row(uint64_t start_address, int64_t cols, int elem_size) {
  RowSplit s;
  s.per_vector = kVectorBytes / elem_size;
  const int misalignment = int(start_address % kVectorBytes);
  if (cols <= 0) return s;
  if (misalignment % elem_size != 0) {
    s.head = cols;
    return s;
  }
  int64_t head = int64_t((kVectorBytes - misalignment) % kVectorBytes) / elem_size;
  if (head > cols) head = cols;
  s.head = head;
  s.vectors = (cols - head) / s.per_vector;
  s.tail = cols - head - s.vectors * s.per_vector;
  return s;
}

// ---- one CUDA block per row (per token, per output channel) ------------------------------------------
constexpr int kRowBlock = 256;            // threads per row block (a multiple of 32)
constexpr int64_t kMaxGridX = 2147483647;  // gridDim.x limit; kernels loop blockIdx.x by gridDim.x
constexpr int64_t kMaxGridYZ = 65535;

struct Launch1D {
  int64_t grid = 0;  // 0: nothing to launch
  int block = 0;
};

// One block per row; the kernels stride rows by gridDim.x, so capping the grid still covers them all.
inline Launch1D plan_rows(int64_t rows) {
  Launch1D l;
  l.block = kRowBlock;
  l.grid = rows <= 0 ? 0 : (rows < kMaxGridX ? rows : kMaxGridX);
  return l;
}

// One thread per element of a vector of n (channels): ceil(n / block) blocks.
inline Launch1D plan_elements(int64_t n, int block = 256) {
  Launch1D l;
  l.block = block;
  if (n <= 0) return l;
  int64_t g = (n + block - 1) / block;
  l.grid = g < kMaxGridX ? g : kMaxGridX;
  return l;
}

// Rows visited by block b of a grid-stride row loop: b, b + grid, b + 2 grid, ...
LP_HD int64_t grid_stride_count(int64_t block_index, int64_t grid, int64_t rows) {
  return block_index >= rows ? 0 : (rows - 1 - block_index) / grid + 1;
}

// ---- fused RMSNorm: one warp per row (numerics.h's canonical 32-lane order) ---------------------
constexpr int kWarp = 32;
constexpr int kRmsWarpsPerBlock = 4;

inline Launch1D plan_rms_rows(int64_t rows) {
  Launch1D l;
  l.block = kRmsWarpsPerBlock * kWarp;
  if (rows <= 0) return l;
  int64_t g = (rows + kRmsWarpsPerBlock - 1) / kRmsWarpsPerBlock;
  l.grid = g < kMaxGridX ? g : kMaxGridX;
  return l;
}
// The row a warp handles in the first pass of its grid-stride loop.
LP_HD int64_t rms_row_of(int64_t block_index, int warp) {
  return block_index * kRmsWarpsPerBlock + warp;
}

// ---- GEMM on int8 tensor cores: mma.sync.m16n8k32 ------------------------------------------------
// Block tile 128 x 128 x 32, 8 warps as 2 (M) x 4 (N), warp tile 64 x 32 = 4 x 4 mma tiles.
// The backend copies A [M, K] and B [N, K] into zero-filled device buffers padded to whole tiles
// (rows to 128, K to 32), so the kernel never reads out of bounds and needs no load predicates; the
// zero padding adds nothing to an integer accumulator. Only the stores are predicated (m < M, n < N).
constexpr int kGemmBM = 128;
constexpr int kGemmBN = 128;
constexpr int kGemmBK = 32;
constexpr int kGemmThreads = 256;
constexpr int kGemmWarpsM = 2;
constexpr int kGemmWarpsN = 4;
constexpr int kGemmWarpTileM = kGemmBM / kGemmWarpsM;  // 64
constexpr int kGemmWarpTileN = kGemmBN / kGemmWarpsN;  // 32
constexpr int kMmaM = 16, kMmaN = 8, kMmaK = 32;
constexpr int kGemmMmaTilesM = kGemmWarpTileM / kMmaM;  // 4
constexpr int kGemmMmaTilesN = kGemmWarpTileN / kMmaN;  // 4
// Shared-memory row pitch: 32 data bytes + 16 padding, so that the 8 fragment rows a warp reads in
// one 32-bit load land on distinct banks (row r starts at bank 12 r mod 32), and rows stay 16-byte
// aligned for cp.async.
constexpr int kGemmSmemPitch = kGemmBK + 16;
constexpr int kGemmStages = 2;
constexpr int kGemmSmemTileBytes = kGemmBM * kGemmSmemPitch;                  // one operand, one stage
constexpr int kGemmSmemBytes = kGemmStages * 2 * kGemmSmemTileBytes;          // 24576

// An int32 accumulator of K products of int8 codes is exact while K * 128 * 128 < 2^31 (numerics.md
// §7). Past that the tensor cores (without .satfinite) and a CPU int32 sum both wrap modulo 2^32, and
// wrapping addition is order-independent, so the codes still agree bit for bit.

struct GemmPlan {
  int64_t m = 0, n = 0, k = 0;
  int64_t m_pad = 0, n_pad = 0, k_pad = 0;  // device buffer extents (whole tiles)
  int64_t grid_m = 0, grid_n = 0;           // blocks along M (gridDim.y) and N (gridDim.x)
  int64_t k_tiles = 0;
  bool empty() const { return m == 0 || n == 0; }
};

inline int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// Returns an empty string and fills *plan, or says which limit the shape exceeds.
inline std::string plan_gemm(int64_t m, int64_t n, int64_t k, GemmPlan* plan) {
  if (m < 0 || n < 0 || k < 0) return "gemm: negative extent";
  GemmPlan p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.m_pad = round_up(m, kGemmBM);
  p.n_pad = round_up(n, kGemmBN);
  p.k_pad = round_up(k, kGemmBK);
  p.grid_m = p.m_pad / kGemmBM;
  p.grid_n = p.n_pad / kGemmBN;
  p.k_tiles = p.k_pad / kGemmBK;
  if (p.grid_m > kMaxGridYZ) return "gemm: M = " + std::to_string(m) + " needs more than 65535 row tiles of 128";
  if (p.grid_n > kMaxGridX) return "gemm: N too large";
  *plan = p;
  return std::string();
}

// Which 16-byte chunk of a 128 x 32 operand tile thread `tid` copies: 256 threads, 2 chunks a row.
struct TileChunk {
  int row;
  int byte;  // 0 or 16 within the row's 32 bytes
};
LP_HD TileChunk gemm_copy_chunk(int tid) { return TileChunk{tid / 2, (tid % 2) * 16}; }

// Warp position in the block tile.
LP_HD int gemm_warp_row0(int warp) { return (warp / kGemmWarpsN) * kGemmWarpTileM; }
LP_HD int gemm_warp_col0(int warp) { return (warp % kGemmWarpsN) * kGemmWarpTileN; }

// Fragment layouts of mma.m16n8k32 with .s8 operands (PTX ISA, "Matrix Fragments for mma.m16n8k32"):
// groupID = lane >> 2, threadID_in_group = lane & 3. Each 32-bit register holds 4 consecutive k.
// A (16 x 32, row-major): register r of a lane holds row groupID + 8 (r & 1), k = 4 tid + 16 (r >> 1).
LP_HD int frag_a_row(int reg, int lane) { return (lane >> 2) + 8 * (reg & 1); }
LP_HD int frag_a_k(int reg, int lane) { return 4 * (lane & 3) + 16 * (reg >> 1); }
// B (32 x 8, "col": stored as [n][k], our [N, K] weights): register r holds n = groupID, k = 4 tid + 16 r.
LP_HD int frag_b_n(int reg, int lane) { return lane >> 2; }
LP_HD int frag_b_k(int reg, int lane) { return 4 * (lane & 3) + 16 * reg; }
// C/D (16 x 8 int32): register r holds row groupID + 8 (r >> 1), column 2 tid + (r & 1).
LP_HD int frag_c_row(int reg, int lane) { return (lane >> 2) + 8 * (reg >> 1); }
LP_HD int frag_c_col(int reg, int lane) { return 2 * (lane & 3) + (reg & 1); }

// Global (m, n) of accumulator register `reg` of mma tile (mt, nt) of warp `warp` in block (bm, bn).
struct MatrixPos {
  int64_t row;
  int64_t col;
};
LP_HD MatrixPos gemm_acc_position(int64_t block_m, int64_t block_n, int warp, int mt, int nt, int reg,
                                   int lane) {
  return MatrixPos{block_m * kGemmBM + gemm_warp_row0(warp) + mt * kMmaM + frag_c_row(reg, lane),
                   block_n * kGemmBN + gemm_warp_col0(warp) + nt * kMmaN + frag_c_col(reg, lane)};
}

// ---- cuBLASLt int8 (the library anchor) ------------------------------------------------------------
// cublasLtMatmul with CUBLAS_COMPUTE_32I and int8 A/B needs the "TN" layout (ours: acc^T = B · A^T in
// column-major, K the leading dimension of both operands) with leading dimensions that are multiples
// of 4 bytes, i.e. K % 4 == 0, and an int32 output whose leading dimension (N) is a multiple of 4.
// Returns an empty string when the shape is supported, else the constraint it breaks.
inline std::string cublaslt_int8_constraint(int64_t m, int64_t n, int64_t k) {
  if (k % 4 != 0) return "cuBLASLt int8 GEMM needs K % 4 == 0 (K = " + std::to_string(k) + ")";
  if (n % 4 != 0) return "cuBLASLt int8 GEMM needs N % 4 == 0 (N = " + std::to_string(n) + ")";
  if (m > 2147483647 || n > 2147483647 || k > 2147483647) return "cuBLASLt int8 GEMM: extent beyond int32";
  return std::string();
}

// ---- lmdeploy weight statistic with groups ------------------------------------------------------------
// group_size <= 0: one group per row. Else C must be a multiple of group_size (lmdeploy's
// view(-1, group_size) of a [O, C] weight mixes rows otherwise). Returns groups per row, or -1 with
// *why set.
inline int64_t weight_groups_per_row(int64_t cols, int64_t group_size, std::string* why) {
  if (group_size <= 0) return 1;
  if (cols % group_size != 0) {
    if (why) *why = "weight_stat: in_features " + std::to_string(cols) + " is not a multiple of group_size " +
                    std::to_string(group_size);
    return -1;
  }
  return cols / group_size;
}

}  // namespace smoothcheck::kernels::cuda_plan
