#include "harness/pipeline/smoothing_units.h"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace smoothcheck::pipeline {

std::string layer_of(const std::string& name) {
  std::size_t begin = 0;
  while (begin < name.size()) {
    std::size_t end = name.find('.', begin);
    if (end == std::string::npos) end = name.size();
    if (end > begin && name.find_first_not_of("0123456789", begin) >= end) return name.substr(0, end + 1);
    begin = end + 1;
  }
  return "";
}

std::vector<SmoothingUnit> smoothing_units(const std::vector<QuantizedLinear>& linears,
                                           const std::vector<NormSpec>& norms,
                                           const std::vector<SmoothingGroup>& groups) {
  std::map<std::string, SmoothingUnit> units;
  for (const QuantizedLinear& q : linears) units[layer_of(q.name)].linears.push_back(q);
  for (const SmoothingGroup& g : groups) {
    const std::string layer = layer_of(g.fcs.front());
    for (const std::string& fc : g.fcs)
      if (layer_of(fc) != layer) throw std::logic_error("smoothing group " + g.source + " spans layers at " + fc);
    if (g.kind == SourceKind::linear && layer_of(g.source) != layer)
      throw std::logic_error("smoothing group " + g.source + " -> " + g.fcs.front() + " spans layers");
    SmoothingUnit& u = units[layer];
    u.groups.push_back(g);
    if (g.kind != SourceKind::norm) continue;
    const auto n = std::find_if(norms.begin(), norms.end(), [&](const NormSpec& s) { return s.name == g.source; });
    if (n == norms.end()) throw std::logic_error("smoothing group source " + g.source + " is not a known norm");
    if (std::none_of(u.norms.begin(), u.norms.end(), [&](const NormSpec& s) { return s.name == g.source; }))
      u.norms.push_back(*n);
  }
  std::vector<SmoothingUnit> out;
  for (auto& [layer, u] : units) out.push_back(std::move(u));
  return out;
}

}  // namespace smoothcheck::pipeline
