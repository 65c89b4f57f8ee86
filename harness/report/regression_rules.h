// What counts as a regression between a baseline and a new set of results documents. The rules:
//  1. new incorrect case: a case that is incorrect or raised a kernel error now and was not so in the
//     baseline (passed, waived or absent there). With no baseline, every incorrect case is new.
//  2. closer to its bound: a metric whose name ends in err_over_bound (a case's or linear's largest
//     error as a fraction of its tier's bound, numerics.md §8) that grew by more than
//     bound_margin = 0.05, i.e. 5 % of the bound, over the baseline. Seeds are fixed, so on the same
//     ISA these numbers repeat exactly; 5 % leaves room for another machine's vector paths and flags a
//     kernel that spends a real part of its error budget.
//  3. slower kernel: a benchmark in both that perf_compare.h's rule labels SLOWER (Mann-Whitney U
//     over >= 9 repetitions plus a 5 % minimum effect). Benchmarks with fewer repetitions are
//     listed as not judged, never as regressions.
// Everything else that moved (fixed cases, errors further from the bound, off-by-one counts, FASTER,
// NOISY, cases added or removed) is listed as a change, not a regression.
#pragma once

#include <string>
#include <vector>

#include "harness/report/perf_compare.h"
#include "harness/report/results_document.h"

namespace smoothcheck::report {

struct RegressionRules {
  double bound_margin = 0.05;
  PerfRule perf;
};

struct Change {
  std::string key;      // the case id or metric key
  std::string message;  // what moved, with both values
};

struct BaselineComparison {
  bool have_baseline = false;
  std::vector<Change> regressions;    // rule 1, 2, 3 hits, in that order
  std::vector<Change> improvements;   // fixed cases, errors further from the bound, FASTER
  std::vector<Change> other_changes;  // off-by-one counts, NOISY / unjudged benchmarks, cases added or removed
  std::vector<PerfComparison> perf;   // every benchmark in both
};

BaselineComparison compare_to_baseline(const std::vector<ResultsDocument>& now,
                                       const std::vector<ResultsDocument>& baseline, const RegressionRules& rules = {});

// The rules above in one sentence with their numbers, for summary.md and index.html.
std::string regression_rules_text(const RegressionRules& rules);

// The benchmark series a benchmark document carries in its detail (results_builders.h).
std::vector<BenchmarkSeries> benchmark_series_of(const std::vector<ResultsDocument>& docs);

}  // namespace smoothcheck::report
