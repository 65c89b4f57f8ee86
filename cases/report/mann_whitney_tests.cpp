// The U test on samples worked by hand (ranks, tie groups and the normal approximation written out
// in the comments), so that a wrong rank, tie term or continuity correction fails.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "harness/report/mann_whitney.h"

namespace smoothcheck::report {
namespace {

TEST(MannWhitneyU, FullySeparatedSamples) {
  // 1..9 against 10..18: no first value beats a second one, U1 = 0, U2 = 81; mu = 40.5,
  // sigma^2 = 81 * 19 / 12 = 128.25, z = (81 - 40.5 - 0.5) / 11.3248 = 3.53209, p = erfc(z / sqrt 2).
  const MannWhitneyResult r = mann_whitney_u({1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12, 13, 14, 15, 16, 17, 18});
  EXPECT_DOUBLE_EQ(r.u_first, 0);
  EXPECT_DOUBLE_EQ(r.u_second, 81);
  EXPECT_NEAR(r.z, 3.5320862855, 1e-9);
  EXPECT_NEAR(r.p_two_sided, 4.122948e-4, 1e-9);
}

TEST(MannWhitneyU, TiesTakeTheirAverageRankAndShrinkTheVariance) {
  // Pooled: 1a 2a 2a 2b 3a 3b 4b 5b -> ranks 1, 3, 3, 3, 5.5, 5.5, 7, 8. R1 = 1 + 3 + 3 + 5.5 = 12.5,
  // U1 = 12.5 - 10 = 2.5 (pairs: the 2s tie one 2 each, 3 beats a 2 and ties a 3), U2 = 13.5.
  // Tie groups of 3 and 2: sum(t^3 - t) = 24 + 6 = 30; sigma^2 = 16/12 * (9 - 30/56) = 11.2857;
  // z = (13.5 - 8 - 0.5) / 3.35942 = 1.48835, p = 0.136658.
  const MannWhitneyResult r = mann_whitney_u({1, 2, 2, 3}, {2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(r.u_first, 2.5);
  EXPECT_DOUBLE_EQ(r.u_second, 13.5);
  EXPECT_NEAR(r.z, 1.4883513945, 1e-9);
  EXPECT_NEAR(r.p_two_sided, 0.1366582477, 1e-9);
}

TEST(MannWhitneyU, SymmetricInItsArguments) {
  const std::vector<double> a = {3.1, 2.9, 3.3, 3.0, 3.2}, b = {3.4, 3.6, 3.5, 2.8, 3.7};
  const MannWhitneyResult ab = mann_whitney_u(a, b), ba = mann_whitney_u(b, a);
  EXPECT_DOUBLE_EQ(ab.u_first, ba.u_second);
  EXPECT_DOUBLE_EQ(ab.p_two_sided, ba.p_two_sided);
}

TEST(MannWhitneyU, IdenticalConstantSamplesGiveNoEvidence) {
  const MannWhitneyResult r = mann_whitney_u(std::vector<double>(9, 5.0), std::vector<double>(9, 5.0));
  EXPECT_DOUBLE_EQ(r.u_first, 40.5);
  EXPECT_DOUBLE_EQ(r.p_two_sided, 1.0);
}

TEST(MannWhitneyU, RefusesEmptyAndNaNSamples) {
  EXPECT_THROW(mann_whitney_u({}, {1.0}), std::invalid_argument);
  EXPECT_THROW(mann_whitney_u({1.0, NAN}, {1.0}), std::invalid_argument);
}

}  // namespace
}  // namespace smoothcheck::report
