// main() of every test executable: gtest's, except that a run in which every selected case skipped
// exits with kAllSkippedExitCode, which smoothcheck_add_test declares as ctest's SKIP_RETURN_CODE.
// Where an executable is one ctest test (SMOOTHCHECK_TEST_PER_EXECUTABLE), an executable whose cases
// all skipped (e.g. the CUDA tables with no device) is then reported skipped, not passed.
#include <gtest/gtest.h>

namespace {

constexpr int kAllSkippedExitCode = 77;  // the automake convention ctest users expect

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  if (rc == 0 && unit.test_to_run_count() > 0 && unit.skipped_test_count() == unit.test_to_run_count())
    return kAllSkippedExitCode;
  return rc;
}
