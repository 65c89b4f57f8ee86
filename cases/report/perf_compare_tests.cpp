// The SAME / FASTER / SLOWER / NOISY rule on constructed timings, and the reading of Google
// Benchmark JSON (repetitions grouped, aggregates skipped, time units converted, bad rows named).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "harness/report/benchmark_series.h"
#include "harness/report/perf_compare.h"

namespace smoothcheck::report {
namespace {

// n timings around `centre` with a +-1 % spread, in a fixed order.
std::vector<double> timings(double centre, std::size_t n) {
  std::vector<double> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(centre * (1 + 0.01 * ((double(i * 7 % n) / double(n)) - 0.5)));
  return v;
}

TEST(PerfRule, ClearlySlowerIsSlower) {
  const PerfComparison c = compare_timings("k", timings(100, 9), timings(130, 9));
  EXPECT_EQ(c.verdict, PerfVerdict::slower) << c.why;
  EXPECT_NEAR(c.effect, 0.30, 0.01);
  EXPECT_LT(c.p_value, 0.001);
}

TEST(PerfRule, ClearlyFasterIsFaster) {
  EXPECT_EQ(compare_timings("k", timings(100, 9), timings(70, 9)).verdict, PerfVerdict::faster);
}

TEST(PerfRule, SignificantButBelowTheMinimumEffectIsSame) {
  // Fully separated (p = 0.0004) but only 2 % apart.
  const PerfComparison c = compare_timings("k", timings(100, 9), timings(102, 9));
  EXPECT_LT(c.p_value, 0.05);
  EXPECT_EQ(c.verdict, PerfVerdict::same) << c.why;
}

TEST(PerfRule, LargeMedianChangeWithoutSignificanceIsNoisy) {
  // The medians differ by 10 %, but the samples interleave: p is large.
  const std::vector<double> base = {100, 150, 90, 160, 95, 155, 98, 152, 100};
  const std::vector<double> now = {110, 150, 92, 161, 96, 156, 111, 153, 110};
  const PerfComparison c = compare_timings("k", base, now);
  EXPECT_GE(c.p_value, 0.05);
  EXPECT_GE(c.effect, 0.05);
  EXPECT_EQ(c.verdict, PerfVerdict::noisy) << c.why;
}

TEST(PerfRule, TooFewRepetitionsIsNoisyWhateverTheData) {
  const PerfComparison c = compare_timings("k", timings(100, 8), timings(300, 9));
  EXPECT_EQ(c.verdict, PerfVerdict::noisy);
  EXPECT_NE(c.why.find("insufficient repetitions"), std::string::npos) << c.why;
}

nlohmann::json row(const std::string& name, double time, const std::string& unit, const char* run_type = "iteration") {
  return {{"name", name}, {"run_name", name}, {"run_type", run_type}, {"real_time", time}, {"cpu_time", time},
          {"time_unit", unit}, {"iterations", 10}, {"repetitions", 2}, {"frac_copy_bw", 0.5}};
}

TEST(GoogleBenchmarkJson, GroupsRepetitionsSkipsAggregatesAndConvertsUnits) {
  nlohmann::json j = {{"context", {{"host_name", "h"}}}, {"benchmarks", nlohmann::json::array()}};
  j["benchmarks"].push_back(row("a", 2, "us"));
  j["benchmarks"].push_back(row("a", 3, "us"));
  j["benchmarks"].push_back(row("a", 999, "us", "aggregate"));
  j["benchmarks"].push_back(row("b", 1, "ms"));
  const auto series = read_benchmark_series(j, "x.json");
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].name, "a");
  EXPECT_EQ(series[0].real_time_ns, (std::vector<double>{2000, 3000}));
  EXPECT_EQ(series[0].counters.at("frac_copy_bw").size(), 2u);
  EXPECT_EQ(series[1].real_time_ns, (std::vector<double>{1e6}));
  EXPECT_FALSE(series[0].counters.count("iterations"));
}

TEST(GoogleBenchmarkJson, BadRowsAreNamed) {
  nlohmann::json j = {{"context", nlohmann::json::object()}, {"benchmarks", {row("a", 1, "fortnights")}}};
  try {
    read_benchmark_series(j, "bench.json");
    FAIL() << "an unknown time unit was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bench.json: benchmarks[0] (a): unknown time_unit 'fortnights'"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(read_benchmark_series(nlohmann::json::object(), "x.json"), std::invalid_argument);
}

TEST(GoogleBenchmarkJson, BenchmarksOnlyInOneRunOrFailedAreListedNotCompared) {
  std::vector<BenchmarkSeries> base = {{"a", timings(1, 9), {}, ""}, {"gone", timings(1, 9), {}, ""}};
  std::vector<BenchmarkSeries> now = {{"a", timings(1, 9), {}, ""}, {"new", timings(1, 9), {}, ""}};
  now[0].error = "out of memory";
  const PerfComparisonSet set = compare_benchmarks(base, now);
  EXPECT_TRUE(set.compared.empty());
  EXPECT_EQ(set.only_in_base, std::vector<std::string>{"gone"});
  EXPECT_EQ(set.only_in_new, std::vector<std::string>{"new"});
  ASSERT_EQ(set.errors.size(), 1u);
}

}  // namespace
}  // namespace smoothcheck::report
