#include "harness/report/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace smoothcheck::report {

MannWhitneyResult mann_whitney_u(const std::vector<double>& first, const std::vector<double>& second) {
  if (first.empty() || second.empty()) throw std::invalid_argument("Mann-Whitney U needs two non-empty samples");
  std::vector<std::pair<double, int>> pooled;  // (value, 0 for first / 1 for second)
  pooled.reserve(first.size() + second.size());
  for (double v : first) pooled.push_back({v, 0});
  for (double v : second) pooled.push_back({v, 1});
  for (const auto& [v, g] : pooled)
    if (std::isnan(v)) throw std::invalid_argument("Mann-Whitney U: a sample holds NaN");
  std::sort(pooled.begin(), pooled.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  const double n1 = double(first.size()), n2 = double(second.size()), n = n1 + n2;
  double rank_sum_first = 0, tie_term = 0;
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double t = double(j - i);
    const double average_rank = (double(i + 1) + double(j)) / 2;  // ranks i+1 .. j, 1-based
    for (std::size_t k = i; k < j; ++k)
      if (pooled[k].second == 0) rank_sum_first += average_rank;
    tie_term += t * t * t - t;
    i = j;
  }

  MannWhitneyResult r;
  r.u_first = rank_sum_first - n1 * (n1 + 1) / 2;
  r.u_second = n1 * n2 - r.u_first;
  const double mu = n1 * n2 / 2;
  const double variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (!(variance > 0)) return r;  // every value equal: z = 0, p = 1
  r.z = (std::max(r.u_first, r.u_second) - mu - 0.5) / std::sqrt(variance);
  r.p_two_sided = std::min(1.0, std::erfc(r.z / std::sqrt(2.0)));
  return r;
}

}  // namespace smoothcheck::report
