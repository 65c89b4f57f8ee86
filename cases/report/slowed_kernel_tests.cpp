// `smoothcheck perf compare` on real benchmark runs: the production per-token quantiser against the
// same kernel deliberately slowed (slowed_kernel_benchmark.cpp, 3x the work) must be SLOWER and fail
// --fail-on-regression; with too few repetitions the same comparison is NOISY, never a verdict.
// 9 repetitions of 20 ms each keep a run under a second.
#include <gtest/gtest.h>

#include "report_test_support.h"

namespace smoothcheck::testing {
namespace {

CommandResult run_benchmark(const std::filesystem::path& out, int slowdown, int repetitions) {
  return run_command(std::string(SLOWED_BENCH_EXE) + " --slowdown=" + std::to_string(slowdown) +
                     " --benchmark_repetitions=" + std::to_string(repetitions) +
                     " --benchmark_min_time=0.02 --benchmark_out_format=json --benchmark_out=" + shell_quote(out.string()));
}

CommandResult perf_compare(const std::filesystem::path& base, const std::filesystem::path& now) {
  return run_command(smoothcheck_exe() + " perf compare " + shell_quote(base.string()) + " " + shell_quote(now.string()) +
                     " --fail-on-regression");
}

TEST(PerfCompareOnRealRuns, SlowedKernelIsSlowerAndFailsTheComparison) {
  const auto dir = fresh_test_dir();
  ASSERT_EQ(run_benchmark(dir / "base.json", 1, 9).exit_code, 0);
  ASSERT_EQ(run_benchmark(dir / "slowed.json", 3, 9).exit_code, 0);
  const CommandResult slowed = perf_compare(dir / "base.json", dir / "slowed.json");
  EXPECT_EQ(slowed.exit_code, 1) << slowed.output;
  EXPECT_NE(slowed.output.find("SLOWER"), std::string::npos) << slowed.output;
  EXPECT_NE(slowed.output.find("quantize_per_token/64x4096/f32"), std::string::npos) << slowed.output;
  EXPECT_NE(slowed.output.find("1 compared, 1 SLOWER"), std::string::npos) << slowed.output;

  // The same documents through `perf record` and `report`: the slowed kernel is a regression there too.
  ASSERT_EQ(run_command(smoothcheck_exe() + " perf record " + shell_quote((dir / "base.json").string()) + " --out " +
                        shell_quote((dir / "base_results.json").string())).exit_code, 0);
  const CommandResult report = run_command(smoothcheck_exe() + " report " + shell_quote((dir / "slowed.json").string()) +
                                           " --baseline " + shell_quote((dir / "base_results.json").string()) +
                                           " --out " + shell_quote((dir / "report").string()) + " --fail-on-regression");
  EXPECT_EQ(report.exit_code, 1) << report.output;
  EXPECT_NE(report.output.find("REGRESSION bench/quantize_per_token/64x4096/f32/real_time: SLOWER"), std::string::npos)
      << report.output;
}

TEST(PerfCompareOnRealRuns, TooFewRepetitionsGiveNoVerdict) {
  const auto dir = fresh_test_dir();
  ASSERT_EQ(run_benchmark(dir / "base.json", 1, 3).exit_code, 0);
  ASSERT_EQ(run_benchmark(dir / "slowed.json", 3, 3).exit_code, 0);
  const CommandResult r = perf_compare(dir / "base.json", dir / "slowed.json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("NOISY"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("insufficient repetitions: 3 and 3"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace smoothcheck::testing
