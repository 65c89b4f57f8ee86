#include "kernels/cuda_emulation/ptx_emulation.h"

#include <cstring>

#include "kernels/cuda_emulation/block_scheduler.h"
#include "kernels/cuda_emulation/memory_checker.h"

namespace smoothcheck::cuda_emulation {

void cp_async(void* shared_dst, const void* global_src, int bytes) { cp_async_issue(shared_dst, global_src, bytes); }

void cp_async_commit_group() {
  ThreadContext& t = current_thread();
  t.committed.push_back(std::move(t.open_group));
  t.open_group.clear();
}

void cp_async_wait_group(int n) {
  ThreadContext& t = current_thread();
  while (int(t.committed.size()) > n) {
    for (const PendingCopy& c : t.committed.front()) cp_async_complete(c);
    t.committed.pop_front();
  }
}

namespace {

// One lane's operands, as deposited for the warp.
struct MmaOperands {
  uint32_t a[4];
  uint32_t b[2];
  int32_t c[4];
};

int8_t byte_of(uint32_t reg, int i) { return static_cast<int8_t>(static_cast<uint8_t>(reg >> (8 * i))); }

}  // namespace

// The fragments of mma.m16n8k32 with .s8 operands, from the PTX ISA ("Matrix Fragments for
// mma.m16n8k32"), written out here independently of launch_plan.h's fragment functions (which the
// kernel uses to load them): groupID = lane >> 2, threadID_in_group = lane % 4; the elements of a .b32
// register are its four bytes, element 0 in the least significant.
//   A (16 x 32): a0..a15, register i / 4. Row groupID for i in [0, 4) and [8, 12), groupID + 8 for
//     the others; column 4·threadID_in_group + (i & 3), plus 16 for i >= 8.
//   B (32 x 8): b0..b7, register i / 4. Row (k) 4·threadID_in_group + (i & 3), plus 16 for i >= 4;
//     column (n) groupID.
//   C, D (16 x 8, .s32): c0..c3. Row groupID for i < 2, groupID + 8 for i >= 2; column
//     2·threadID_in_group + (i & 1).
// Without .satfinite the int32 sums wrap modulo 2^32.
//
// Read the other way round, for one row of A and one column of B: row r's 32 elements sit in the four
// lanes of groupID r mod 8, lane (r mod 8, t) holding columns 4t..4t+3 in one register (a0 for r < 8,
// a1 for r >= 8) and columns 16+4t..16+4t+3 in another (a2, a3); column n of B sits in the four lanes
// of groupID n, lane (n, t) holding k = 4t..4t+3 in b0 and k = 16+4t..16+4t+3 in b1. So D[r][n] is
// the sum over t of two four-byte dot products, register by register. Each lane assembles only its own
// two rows and two columns this way: rebuilding the whole of A and B in every lane was nine tenths of
// the emulated GEMM's time.
void mma_m16n8k32_s8(int32_t (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  MmaOperands mine;
  std::memcpy(mine.a, a, sizeof mine.a);
  std::memcpy(mine.b, b, sizeof mine.b);
  std::memcpy(mine.c, c, sizeof mine.c);
  MmaOperands lanes[32];
  warp_exchange("mma.sync.m16n8k32", &mine, sizeof mine, lanes);

  const auto dot4 = [](uint32_t x, uint32_t y) {  // four int8 products, each exact in int32
    uint32_t sum = 0;
    for (int e = 0; e < 4; ++e) sum += static_cast<uint32_t>(byte_of(x, e) * byte_of(y, e));
    return sum;
  };
  const int lane = current_thread().lane, group = lane >> 2, tig = lane & 3;
  for (int i = 0; i < 4; ++i) {
    const int upper_rows = i >= 2 ? 1 : 0;  // row groupID + 8: registers a1 and a3 instead of a0 and a2
    const int col = 2 * tig + (i & 1);
    uint32_t sum = static_cast<uint32_t>(c[i]);
    for (int t = 0; t < 4; ++t) {
      const MmaOperands& a_lane = lanes[4 * group + t];
      const MmaOperands& b_lane = lanes[4 * col + t];
      sum += dot4(a_lane.a[upper_rows], b_lane.b[0]);      // k = 4t .. 4t + 3
      sum += dot4(a_lane.a[2 + upper_rows], b_lane.b[1]);  // k = 16 + 4t .. 16 + 4t + 3
    }
    c[i] = static_cast<int32_t>(sum);
  }
}

}  // namespace smoothcheck::cuda_emulation
