// A probe of cases/test_main.cpp's exit code, run by cases/expect_exit_code.cmake (it is no ctest test
// itself): one case skips as a CUDA case does without a device, one passes.
#include <gtest/gtest.h>

TEST(SkipProbe, SkipsLikeACaseWithoutItsDevice) { GTEST_SKIP() << "probe device unavailable: none here"; }

TEST(SkipProbe, Passes) { SUCCEED(); }
