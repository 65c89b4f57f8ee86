#include "harness/pipeline/rederived_smoothing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "kernels/cpu/parallel_for.h"
#include "reference/reference.h"

namespace smoothcheck::pipeline {

namespace {

reference::Matrix reference_matrix(const FloatMatrix& m) {
  reference::Matrix out(m.rows, m.cols);
  for (std::size_t i = 0; i < m.data.size(); ++i) out.values[i] = m.data[i];
  return out;
}

reference::Vector reference_vector(const std::vector<float>& v) { return reference::Vector(v.begin(), v.end()); }

// The inputs of one group's s that do not depend on the recipe's exponent. The fcs are the original
// weights where they lie; the reference's float64 copies are made where it is called.
struct GroupInputs {
  std::vector<const FloatMatrix*> fcs;
  reference::Vector norm;  // empty for a linear source
  const LinearStats* stats = nullptr;
};

GroupInputs group_inputs(const SmoothingGroup& g, const FloatWeights& original, const CalibrationStats& stats) {
  GroupInputs in;
  for (const std::string& fc : g.fcs) {
    const auto it = original.linears.find(fc);
    if (it == original.linears.end()) throw std::logic_error("re-derivation: smoothing group fc " + fc + " was not loaded");
    in.fcs.push_back(&it->second);
  }
  if (g.kind == SourceKind::norm) {
    const auto it = original.norms.find(g.source);
    if (it == original.norms.end()) throw std::logic_error("re-derivation: norm " + g.source + " was not loaded");
    in.norm = reference_vector(it->second);
  }
  const auto st = stats.linears.find(g.fcs.front());
  if (st == stats.linears.end())
    throw std::invalid_argument("the calibration statistics hold nothing for " + g.fcs.front());
  in.stats = &st->second;
  return in;
}

// The step-by-step weight statistic (a bf16/f16 model's dtype), column block by column block on every
// core. At 1.1B, verify --stats spent 19 of its 25 s in it on one core; now 15.8-16.0 s against
// 27.1-27.3 s in all, and 420 against 532 MB of peak (a block's float64 copy per thread, not a group's).
// A column's statistic depends on that column and, for lmdeploy, on its rows' absmax over the whole
// row, nothing else. So each block goes to the reference with one more column holding every row's
// absmax: the block's rows then have the whole rows' absmax (and the same all-or-nothing 1e-4 clamp),
// and the reference's result for the block's columns is the one it gives for the whole matrix, element
// for element (rederived_smoothing_cases compares them, NaN weights included: the absmax here skips a
// NaN as the reference's std::max chain does). The extra column's own result is dropped.
reference::Vector weight_stat_stepwise_by_columns(const std::vector<const FloatMatrix*>& fcs, Recipe recipe,
                                                 DType arithmetic) {
  const int64_t cols = fcs.empty() ? 0 : fcs.front()->cols;
  bool same_cols = true;
  int64_t rows = 0;
  for (const FloatMatrix* fc : fcs) {
    same_cols = same_cols && fc->cols == cols;
    rows += fc->rows;
  }
  if (fcs.empty() || !same_cols || cols == 0) {  // the reference's own argument checks say what is wrong
    std::vector<reference::Matrix> whole;
    for (const FloatMatrix* fc : fcs) whole.push_back(reference_matrix(*fc));
    return reference::weight_stat_stepwise(whole, recipe, 0, arithmetic);
  }
  std::vector<std::vector<double>> row_absmax(fcs.size());
  for (std::size_t f = 0; f < fcs.size(); ++f) {
    const FloatMatrix& fc = *fcs[f];
    row_absmax[f].assign(std::size_t(fc.rows), 0.0);
    for (int64_t r = 0; r < fc.rows; ++r)
      for (int64_t j = 0; j < cols; ++j)
        row_absmax[f][std::size_t(r)] =  // std::max(m, NaN) is m: a NaN is skipped, as in the reference
            std::max(row_absmax[f][std::size_t(r)], std::fabs(double(fc.data[std::size_t(r * cols + j)])));
  }
  reference::Vector w(static_cast<std::size_t>(cols));
  const auto block_of_columns = [&](int64_t c0, int64_t c1) {
    std::vector<reference::Matrix> block;
    for (std::size_t f = 0; f < fcs.size(); ++f) {
      const FloatMatrix& fc = *fcs[f];
      reference::Matrix m(fc.rows, c1 - c0 + 1);
      for (int64_t r = 0; r < fc.rows; ++r) {
        for (int64_t j = c0; j < c1; ++j) m.at(r, j - c0) = fc.data[std::size_t(r * cols + j)];
        m.at(r, c1 - c0) = row_absmax[f][std::size_t(r)];
      }
      block.push_back(std::move(m));
    }
    const reference::Vector part = reference::weight_stat_stepwise(block, recipe, 0, arithmetic);
    std::copy(part.begin(), part.begin() + (c1 - c0), w.begin() + c0);
  };
  // A block of at least ~64 KiB of float64 per thread; the copies are made a block at a time.
  kernels::cpu::parallel_for(cols, kernels::cpu::grain_for_bytes(rows * int64_t(sizeof(double))),
                             kernels::cpu::all_cores(), block_of_columns);
  return w;
}

// The weight statistic and s as the recipe computes them: the float64 ideal in float32 arithmetic; in a
// bf16/f16 model's dtype the reference's step-by-step model of the tools' own roundings.
reference::Vector weight_statistic(const GroupInputs& in, Recipe recipe, DType arithmetic) {
  if (arithmetic != DType::f32) return weight_stat_stepwise_by_columns(in.fcs, recipe, arithmetic);
  std::vector<reference::Matrix> whole;
  for (const FloatMatrix* fc : in.fcs) whole.push_back(reference_matrix(*fc));
  return reference::weight_stat(whole, recipe, /*group_size=*/0);
}
reference::Vector scale_of(const reference::Vector& a, const reference::Vector& w, const GroupInputs& in, Recipe recipe,
                           double alpha, DType arithmetic) {
  return arithmetic == DType::f32 ? reference::smooth_scale(a, w, in.norm, recipe, alpha)
                                  : reference::smooth_scale_stepwise(a, w, in.norm, recipe, alpha, arithmetic);
}
reference::Vector group_scale(const GroupInputs& in, Recipe recipe, double alpha, DType arithmetic) {
  return scale_of(recipe_activation_statistic(*in.stats, recipe, arithmetic), weight_statistic(in, recipe, arithmetic),
                  in, recipe, alpha, arithmetic);
}

bool matches(const std::vector<float>& stored, const reference::Vector& s, DType arithmetic) {
  if (stored.size() != s.size()) return false;
  for (std::size_t j = 0; j < s.size(); ++j)
    if (!migration_scale_allowed(stored[j], s[j], arithmetic)) return false;
  return true;
}

}  // namespace

bool migration_scale_allowed(float stored, double recipe, DType arithmetic) {
  const double v = stored;
  if (arithmetic == DType::f32) return std::fabs(v - recipe) <= kMigrationScaleTolerance * std::fabs(recipe);
  // The step-by-step model and the kernels take the same roundings; only float32 pow (glibc's or CUDA's
  // powf against the correctly rounded one) can differ by an f32 ulp, which a rounding to the dtype
  // almost always absorbs: one ulp of the dtype. llm-compressor's float32 floor is the one s that is
  // not a value of the dtype, and is then equal.
  if (v == recipe) return true;
  return reference::round_to_dtype(v, arithmetic) == v && std::fabs(v - recipe) <= reference::ulp_of(recipe, arithmetic);
}

std::vector<double> recipe_activation_statistic(const LinearStats& stats, Recipe recipe, DType arithmetic) {
  const auto in = [arithmetic](float x) { return reference::round_to_dtype(static_cast<double>(x), arithmetic); };
  std::vector<double> a(stats.absmax.size());
  for (std::size_t j = 0; j < a.size(); ++j) {
    if (recipe != Recipe::llmcompressor) {
      a[j] = in(stats.absmax[j]);
    } else if (arithmetic == DType::f32) {
      a[j] = static_cast<double>(stats.max[j]) - static_cast<double>(stats.min[j]);
    } else {
      a[j] = reference::round_to_dtype(in(stats.max[j]) - in(stats.min[j]), arithmetic);
    }
  }
  return a;
}

std::map<std::string, std::vector<double>> rederive_migration_scales(const std::vector<SmoothingGroup>& groups,
                                                                    const FloatWeights& original,
                                                                    const CalibrationStats& stats,
                                                                    const QuantizationConfig& qc, DType arithmetic) {
  std::map<std::string, std::vector<double>> s;
  if (qc.smoothing)
    for (const SmoothingGroup& g : groups) {
      // alpha as recorded: the float the export was made with, exactly (0.85f, not 0.85); the group's own
      // where the export was made with one per group.
      const auto own = qc.group_alphas.find(g.source);
      const float alpha = own == qc.group_alphas.end() ? qc.alpha : own->second;
      const reference::Vector gs = group_scale(group_inputs(g, original, stats), qc.recipe, static_cast<double>(alpha), arithmetic);
      for (const std::string& fc : g.fcs) s[fc] = gs;
    }
  for (const auto& [name, m] : original.linears)
    if (!s.count(name)) s[name] = std::vector<double>(static_cast<std::size_t>(m.cols), 1.0);
  return s;
}

std::string explain_migration_scale(const SmoothingGroup& group, const FloatWeights& original,
                                    const CalibrationStats& stats, const std::vector<float>& stored, DType arithmetic) {
  const GroupInputs in = group_inputs(group, original, stats);
  for (Recipe recipe : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor}) {
    const reference::Vector a = recipe_activation_statistic(*in.stats, recipe, arithmetic);
    const reference::Vector w = weight_statistic(in, recipe, arithmetic);
    for (int step = 0; step <= 20; ++step) {
      const float alpha = static_cast<float>(step) / 20.0f;
      if (matches(stored, scale_of(a, w, in, recipe, alpha, arithmetic), arithmetic)) {
        char text[96];
        std::snprintf(text, sizeof text, "recipe %s, alpha %.2f", to_string(recipe), static_cast<double>(alpha));
        return text;
      }
    }
  }
  return "";
}

RecipeFit fit_recipe_and_alpha(const SmoothingGroup& group, const FloatWeights& original, const CalibrationStats& stats,
                               const std::vector<double>& s, const std::vector<bool>& use, DType arithmetic) {
  const GroupInputs in = group_inputs(group, original, stats);
  RecipeFit best;
  for (Recipe recipe : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor}) {
    const reference::Vector a = recipe_activation_statistic(*in.stats, recipe, arithmetic);
    const reference::Vector w = weight_statistic(in, recipe, arithmetic);
    const auto residual = [&](double alpha) {
      const reference::Vector fit = scale_of(a, w, in, recipe, alpha, arithmetic);
      double worst = 0;
      for (std::size_t j = 0; j < s.size() && j < fit.size(); ++j)
        if (use[j]) {
          const double e = std::fabs(fit[j] - s[j]) / std::fabs(s[j]);
          worst = e == e ? std::max(worst, e) : INFINITY;
        }
      return worst;
    };
    double at = 0, r = INFINITY;
    for (int step = 0; step <= 20; ++step)
      if (const double e = residual(step / 20.0); e < r) r = e, at = step / 20.0;
    // The residual is unimodal near its minimum in α (each channel's log s is linear in α); golden
    // section on the grid point's neighbourhood.
    double lo = std::max(0.0, at - 0.05), hi = std::min(1.0, at + 0.05);
    const double g = (std::sqrt(5.0) - 1) / 2;
    while (hi - lo > 1e-4) {
      const double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
      if (residual(x1) <= residual(x2)) hi = x2;
      else lo = x1;
    }
    if (const double e = residual((lo + hi) / 2); e < r) r = e, at = (lo + hi) / 2;
    if (r < best.residual) best = RecipeFit{recipe, at, r};
  }
  return best;
}

}  // namespace smoothcheck::pipeline
