// The emulation's checkers each catch their broken kernel (broken_kernels.h), naming the kernel, the
// block, the thread and the memory, and pass the correct twin: out-of-bounds shared and global
// accesses, a missing __syncthreads (a shared-memory race), a wrong cp.async wait, a missing barrier
// after cp.async, a barrier in divergent code, and CUB's TempStorage reused without a barrier.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cases/cuda_emulation/broken_kernels.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::cuda_emulation_cases {
namespace {

// The report the launch throws, or "" when it ran clean.
template <class F>
std::string report_of(F&& run) {
  try {
    run();
  } catch (const kernels::KernelError& e) {
    return e.what();
  }
  return "";
}

void expect_report(const std::string& report, std::initializer_list<const char*> parts) {
  ASSERT_FALSE(report.empty()) << "the broken kernel ran without a report";
  std::printf("[ report   ] %s\n", report.c_str());
  for (const char* p : parts) EXPECT_NE(report.find(p), std::string::npos) << "'" << p << "' not in: " << report;
}

TEST(EmulationChecker, SharedOutOfBounds) {
  EXPECT_EQ(report_of([] { shared_store(0); }), "");
  expect_report(report_of([] { shared_store(1); }),
                {"shared_store_kernel", "block (0,0,0) thread (63,0,0)", "out-of-bounds shared write of 4 bytes",
                 "past the end of buf (256 bytes)"});
}

TEST(EmulationChecker, GlobalOutOfBounds) {
  const auto ok = global_read(0);
  EXPECT_EQ(ok[63], 63.0f);
  expect_report(report_of([] { global_read(1); }),
                {"global_read_kernel", "thread (63,0,0)", "out-of-bounds global read of 4 bytes",
                 "past the end of a 256-byte cudaMalloc allocation"});
}

TEST(EmulationChecker, MissingSyncthreadsIsARace) {
  const auto ok = neighbour_exchange(true);
  EXPECT_EQ(ok[0], 1.0f);
  EXPECT_EQ(ok[63], 0.0f);
  expect_report(report_of([] { neighbour_exchange(false); }),
                {"neighbour_kernel", "shared-memory race", "buf+4", "no __syncthreads between"});
}

TEST(EmulationChecker, CpAsyncReadBeforeItsWait) {
  const auto ok = cp_async_exchange(0, true);
  EXPECT_EQ(ok[0], 4.0f);
  expect_report(report_of([] { cp_async_exchange(1, true); }),
                {"cp_async_kernel", "destination of a cp.async", "not been waited for"});
}

TEST(EmulationChecker, CpAsyncWithoutTheBarrierAfterItsWait) {
  expect_report(report_of([] { cp_async_exchange(0, false); }), {"cp_async_kernel", "shared-memory race", "cp.async"});
}

TEST(EmulationChecker, BarrierInDivergentCode) {
  EXPECT_EQ(report_of([] { divergent_barrier(0); }), "");
  expect_report(report_of([] { divergent_barrier(16); }),
                {"divergent_barrier_kernel", "__syncthreads reached by 48 of 64 threads", "exited"});
}

TEST(EmulationChecker, CubTempStorageReusedWithoutBarrier) {
  const auto ok = reduce_twice(true);
  EXPECT_EQ(ok[0], 63.0f);
  EXPECT_EQ(ok[1], 0.0f);
  expect_report(report_of([] { reduce_twice(false); }), {"reduce_twice_kernel", "shared-memory race", "temp+"});
}

}  // namespace
}  // namespace smoothcheck::cuda_emulation_cases
