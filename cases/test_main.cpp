// main() of every test executable: gtest's, except that a run in which every selected case skipped
// exits with kAllSkippedExitCode, which smoothcheck_add_test declares as ctest's SKIP_RETURN_CODE.
// Where an executable is one ctest test (SMOOTHCHECK_TEST_PER_EXECUTABLE), an executable whose cases
// all skipped (e.g. the CUDA tables with no device) is then reported skipped, not passed.
#include <malloc.h>

#include <gtest/gtest.h>

namespace {

constexpr int kAllSkippedExitCode = 77;  // the automake convention ctest users expect

}  // namespace

int main(int argc, char** argv) {
  // The case tables allocate and free tensors of up to hundreds of MiB case after case. By default glibc
  // maps each large block afresh and unmaps it on free, so every case paid a page fault and a zeroed page
  // per 4 KiB: 40 of differential_cpu_tests' 100 s were system time. Served from a heap that is never
  // trimmed, the freed memory is reused (71 s, a higher peak RSS). A test process only; the CLI keeps
  // glibc's defaults. Without effect under a sanitizer's allocator.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);  // mallopt(3): -1 turns trimming off
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  if (rc == 0 && unit.test_to_run_count() > 0 && unit.skipped_test_count() == unit.test_to_run_count())
    return kAllSkippedExitCode;
  return rc;
}
