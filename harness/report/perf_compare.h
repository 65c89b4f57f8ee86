// SAME / FASTER / SLOWER / NOISY for one benchmark between two runs, by a stated rule:
//   - each side needs >= 9 repetitions (the number Google Benchmark's compare.py recommends for its
//     U test); fewer: NOISY, "insufficient repetitions";
//   - p: the two-sided Mann-Whitney U test of the repetitions' wall times (mann_whitney.h), as
//     compare.py does; significance level alpha = 0.05;
//   - effect: median(new) / median(base) - 1; a change smaller than 5 % is not worth a verdict on a
//     shared machine even when it is significant;
//   - p < alpha and |effect| >= 5 %: SLOWER or FASTER by the sign of the effect;
//     |effect| < 5 % (whatever p): SAME;
//     p >= alpha and |effect| >= 5 %: NOISY (a large change the repetitions do not establish).
// Only SLOWER is a regression.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/report/benchmark_series.h"

namespace smoothcheck::report {

enum class PerfVerdict { same, faster, slower, noisy };
const char* to_string(PerfVerdict v);

struct PerfRule {
  std::size_t min_repetitions = 9;
  double alpha = 0.05;
  double min_effect = 0.05;
};

struct PerfComparison {
  std::string name;
  PerfVerdict verdict = PerfVerdict::noisy;
  std::string why;  // the rule's reason, e.g. "p = 0.0004 < 0.05, +212.0 %"
  std::size_t base_repetitions = 0, new_repetitions = 0;
  double base_median_ns = 0, new_median_ns = 0;
  double effect = 0;  // median(new) / median(base) - 1
  double p_value = 1;
};

PerfComparison compare_timings(const std::string& name, const std::vector<double>& base_ns,
                               const std::vector<double>& new_ns, const PerfRule& rule = {});

struct PerfComparisonSet {
  std::vector<PerfComparison> compared;  // benchmarks in both runs, in the new run's order
  std::vector<std::string> only_in_base, only_in_new, errors;  // errors: a failed benchmark, named
};

PerfComparisonSet compare_benchmarks(const std::vector<BenchmarkSeries>& base, const std::vector<BenchmarkSeries>& now,
                                     const PerfRule& rule = {});

}  // namespace smoothcheck::report
