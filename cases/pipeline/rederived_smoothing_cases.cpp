// verify's migration scales in a bf16/f16 model's dtype (harness/pipeline/rederived_smoothing.cpp):
// the step-by-step weight statistic runs on column blocks, in parallel, each block given every row's
// absmax in one more column. Its s must be the reference's on the whole matrices, bit for bit, for
// every recipe: with a zero row (lmdeploy's all-or-nothing 1e-4 clamp), with rows whose absmax lies in
// another block than most of their columns, and with a NaN weight (whose row's absmax both must take
// alike).
#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "harness/pipeline/rederived_smoothing.h"
#include "reference/reference.h"

namespace smoothcheck::pipeline {
namespace {

constexpr int64_t kCols = 1000;  // eight column blocks on two cores (64 KiB of float64 per block)

struct Group {
  FloatWeights weights;
  CalibrationStats stats;
  SmoothingGroup group{"norm", SourceKind::norm, {"fc0", "fc1"}};
};

// Two fcs of 40 and 24 rows read one norm; weights of dtype t with magnitudes spread over 2^-12..2^4
// per row, so that a row's absmax lies in one block and most of its columns in others.
Group make_group(DType t, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Group g;
  for (const auto& [name, rows] : {std::pair<const char*, int64_t>{"fc0", 40}, {"fc1", 24}}) {
    FloatMatrix m{rows, kCols, std::vector<float>(std::size_t(rows * kCols))};
    for (int64_t r = 0; r < rows; ++r) {
      const double row_scale = std::ldexp(1.0, int(uniform(rng) * 16) - 12);
      for (int64_t j = 0; j < kCols; ++j)
        m.data[std::size_t(r * kCols + j)] = float(reference::round_to_dtype(normal(rng) * row_scale, t));
      // One large element per row, anywhere: the row's absmax, in one block only.
      const int64_t at = int64_t(uniform(rng) * kCols);
      m.data[std::size_t(r * kCols + at)] = float(reference::round_to_dtype(40.0 * row_scale, t));
    }
    g.weights.linears[name] = std::move(m);
  }
  const std::size_t n = static_cast<std::size_t>(kCols);
  std::vector<float> norm(n), absmax(n), mn(n), mx(n);
  for (int64_t j = 0; j < kCols; ++j) {
    norm[std::size_t(j)] = float(reference::round_to_dtype(0.5 + uniform(rng), t));
    mx[std::size_t(j)] = float(0.1 + 8.0 * uniform(rng));
    mn[std::size_t(j)] = float(-0.1 - 8.0 * uniform(rng));
    absmax[std::size_t(j)] = std::max(mx[std::size_t(j)], -mn[std::size_t(j)]);
  }
  g.weights.norms["norm"] = norm;
  for (const char* fc : {"fc0", "fc1"}) g.stats.linears[fc] = LinearStats{absmax, mn, mx, {}, {}};
  return g;
}

// The s the reference gives for the whole matrices at once.
std::vector<double> whole_matrix_scale(const Group& g, Recipe recipe, float alpha, DType t) {
  std::vector<reference::Matrix> fcs;
  for (const std::string& name : g.group.fcs) {
    const FloatMatrix& m = g.weights.linears.at(name);
    reference::Matrix r(m.rows, m.cols);
    for (std::size_t i = 0; i < m.data.size(); ++i) r.values[i] = m.data[i];
    fcs.push_back(std::move(r));
  }
  const std::vector<float>& norm = g.weights.norms.at("norm");
  return reference::smooth_scale_stepwise(recipe_activation_statistic(g.stats.linears.at("fc0"), recipe, t),
                                          reference::weight_stat_stepwise(fcs, recipe, 0, t),
                                          reference::Vector(norm.begin(), norm.end()), recipe, double(alpha), t);
}

void expect_same_bits(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t j = 0; j < want.size(); ++j)
    ASSERT_EQ(std::memcmp(&got[j], &want[j], sizeof(double)), 0)
        << what << ", channel " << j << ": " << got[j] << " where the whole matrices give " << want[j];
}

class RederivedSmoothingByColumns : public ::testing::TestWithParam<DType> {};

TEST_P(RederivedSmoothingByColumns, EveryRecipeGivesTheWholeMatricesScale) {
  const DType t = GetParam();
  for (uint64_t seed : {1u, 2u}) {
    Group g = make_group(t, seed);
    if (seed == 2) std::fill_n(g.weights.linears.at("fc1").data.begin() + 5 * kCols, kCols, 0.0f);  // a zero row
    for (Recipe recipe : {Recipe::lmdeploy, Recipe::smoothquant, Recipe::llmcompressor}) {
      QuantizationConfig qc;
      qc.recipe = recipe;
      qc.alpha = 0.5f;
      const auto s = rederive_migration_scales({g.group}, g.weights, g.stats, qc, t);
      expect_same_bits(s.at("fc1"), whole_matrix_scale(g, recipe, qc.alpha, t),
                       std::string(to_string(recipe)) + ", seed " + std::to_string(seed));
    }
  }
}

TEST_P(RederivedSmoothingByColumns, ANanWeightIsSkippedInItsRowsAbsmaxAsByTheReference) {
  const DType t = GetParam();
  Group g = make_group(t, 3);
  g.weights.linears.at("fc0").data[std::size_t(7 * kCols + 900)] = std::nanf("");
  QuantizationConfig qc;
  qc.recipe = Recipe::lmdeploy;
  const auto s = rederive_migration_scales({g.group}, g.weights, g.stats, qc, t);
  expect_same_bits(s.at("fc0"), whole_matrix_scale(g, Recipe::lmdeploy, qc.alpha, t), "lmdeploy with a NaN weight");
}

INSTANTIATE_TEST_SUITE_P(ModelDtype, RederivedSmoothingByColumns, ::testing::Values(DType::f16, DType::bf16),
                         [](const ::testing::TestParamInfo<DType>& p) { return std::string(to_string(p.param)); });

}  // namespace
}  // namespace smoothcheck::pipeline
