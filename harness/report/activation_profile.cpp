#include "harness/report/activation_profile.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/smoothing_units.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::report {

namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

double max_over_median(const std::vector<double>& v) {
  const double m = median_of(v);
  const double top = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  return m > 0 ? top / m : (top > 0 ? INFINITY : 1.0);
}

}  // namespace

nlohmann::json activation_profile(const std::filesystem::path& stats_file, const std::filesystem::path& original,
                                  const std::filesystem::path& quantized,
                                  const std::map<std::string, std::vector<float>>* recovered_s) {
  const std::unique_ptr<pipeline::ModelFamily> family = pipeline::open_model_family(original);
  const std::vector<QuantizedLinear> linears = family->linears();
  const pipeline::CalibrationStats stats = pipeline::read_calibration_stats(stats_file, linears);
  const checkpoint::ModelDir quant = checkpoint::open_model_dir(quantized);
  // A stacked parameter's later members (k/v after q, up after gate) read the first member's input:
  // their profiles are the same vector.
  std::set<std::string> shares_an_earlier_input;
  for (const pipeline::StackedGroup& g : family->stacked_groups())
    for (std::size_t m = 1; m < g.members.size(); ++m) shares_an_earlier_input.insert(g.members[m].name);
  std::vector<std::string> layers;  // in forward order
  for (const QuantizedLinear& linear : linears)
    if (layers.empty() || layers.back() != pipeline::layer_of(linear.name)) layers.push_back(pipeline::layer_of(linear.name));

  nlohmann::json out = nlohmann::json::array();
  for (const QuantizedLinear& linear : linears) {
    const auto layer = std::find(layers.begin(), layers.end(), pipeline::layer_of(linear.name)) - layers.begin();
    if ((layer != 0 && layer + 1 != static_cast<std::ptrdiff_t>(layers.size())) ||
        shares_an_earlier_input.count(linear.name))
      continue;
    const std::string scale_name = linear.name + ".migration_scale";
    at::Tensor s;
    if (recovered_s && recovered_s->count(linear.name)) {
      const std::vector<float>& r = recovered_s->at(linear.name);
      s = at::tensor(r, at::kFloat).to(at::kDouble).contiguous();
    } else {
      if (!quant.checkpoint->contains(scale_name))
        throw checkpoint::CheckpointError(quant.checkpoint->location(), scale_name,
                                          "is absent: the profile needs the export's migration scales");
      s = quant.checkpoint->tensor(scale_name).to(at::kDouble).contiguous();
    }
    const std::vector<float>& absmax = stats.linears.at(linear.name).absmax;
    if (s.numel() != int64_t(absmax.size()))
      throw checkpoint::CheckpointError(quant.checkpoint->location(), scale_name,
                            "has " + std::to_string(s.numel()) + " channels, the statistics " + std::to_string(absmax.size()));
    std::vector<double> before(absmax.begin(), absmax.end()), after(before.size());
    const double* sp = s.data_ptr<double>();
    for (std::size_t j = 0; j < before.size(); ++j) after[j] = sp[j] > 0 ? before[j] / sp[j] : before[j];
    const double threshold = kOutlierOverMedian * median_of(before);
    std::vector<std::size_t> outliers;
    for (std::size_t j = 0; j < before.size(); ++j)
      if (threshold > 0 && before[j] >= threshold) outliers.push_back(j);
    out.push_back({{"input", linear.name},
                   {"layer", layer},
                   {"absmax_before", before},
                   {"absmax_after", after},
                   {"outliers", outliers},
                   {"outlier_rule", "absmax >= 4 x the median channel's"},
                   {"max_over_median", {{"before", max_over_median(before)}, {"after", max_over_median(after)}}}});
  }
  return out;
}

}  // namespace smoothcheck::report
