// The two-sided Mann-Whitney U test (Wilcoxon rank-sum), the rule Google Benchmark's
// tools/compare.py applies to repeated timings (it calls scipy.stats.mannwhitneyu). With the >= 9
// repetitions perf_compare.h requires, scipy uses the normal approximation with the tie correction
// and the continuity correction; this is that computation, written from the textbook formulas:
//   U1 = R1 - n1(n1+1)/2 (R1: the rank sum of the first sample, ties given their average rank),
//   U2 = n1 n2 - U1, mu = n1 n2 / 2,
//   sigma^2 = n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1)))  (t: the size of each tie group),
//   z = (max(U1, U2) - mu - 1/2) / sigma,  p = 2 (1 - Phi(z)), at most 1.
// All values equal (sigma = 0) gives p = 1: nothing distinguishes the samples.
#pragma once

#include <vector>

namespace smoothcheck::report {

struct MannWhitneyResult {
  double u_first = 0;   // U of the first sample: pairs (a, b) with a > b, ties counting 1/2
  double u_second = 0;  // U of the second sample; u_first + u_second = n1 n2
  double z = 0;         // standardised max(U1, U2), continuity-corrected; 0 when sigma = 0
  double p_two_sided = 1;
};

// Throws std::invalid_argument when a sample is empty or holds a NaN.
MannWhitneyResult mann_whitney_u(const std::vector<double>& first, const std::vector<double>& second);

}  // namespace smoothcheck::report
