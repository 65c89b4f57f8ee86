#include "cases/perf_tracking/instruction_count_comparison.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "harness/checkpoint/atomic_file.h"

namespace smoothcheck::perf_tracking {
namespace {

constexpr const char* kSchema = "smoothcheck.callgrind_instructions/1";
constexpr const char* kTrigger = "desc: Trigger: Client Request: ";

std::string percent(double change) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f %%", 100.0 * change);
  return buf;
}

}  // namespace

const char* to_string(CountVerdict v) {
  switch (v) {
    case CountVerdict::same: return "SAME";
    case CountVerdict::faster: return "FASTER";
    case CountVerdict::slower: return "SLOWER";
    case CountVerdict::missing: return "MISSING";
    case CountVerdict::untracked: return "UNTRACKED";
  }
  return "?";
}

ComparisonResult compare_instruction_counts(const InstructionBaseline& baseline,
                                            const std::map<std::string, uint64_t>& measured, bool subset) {
  ComparisonResult result;
  for (const auto& [name, base] : baseline.kernels) {
    CountComparison row{name, CountVerdict::same, base, 0, 0.0};
    auto it = measured.find(name);
    if (it == measured.end()) {
      if (subset) continue;
      row.verdict = CountVerdict::missing;
    } else {
      row.measured = it->second;
      row.change = base > 0 ? double(row.measured) / double(base) - 1.0 : (row.measured > 0 ? 1.0 : 0.0);
      // As a difference of counts (exact in a double), so that exactly +5 % is not a regression.
      const double diff = double(row.measured) - double(base), limit = baseline.tolerance * double(base);
      if (diff > limit) row.verdict = CountVerdict::slower;
      else if (diff < -limit) row.verdict = CountVerdict::faster;
    }
    result.rows.push_back(row);
  }
  for (const auto& [name, count] : measured)
    if (!baseline.kernels.count(name)) result.rows.push_back({name, CountVerdict::untracked, 0, count, 0.0});
  for (const auto& row : result.rows) {
    result.regression |= row.verdict == CountVerdict::slower || row.verdict == CountVerdict::missing ||
                         row.verdict == CountVerdict::untracked;
    result.improvement |= row.verdict == CountVerdict::faster;
  }
  return result;
}

std::string format_comparison(const ComparisonResult& result, double tolerance, const std::string& update_command) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %-60s %14s %14s %10s\n", "verdict", "kernel", "baseline Ir", "measured Ir",
                "change");
  out << line;
  for (const auto& r : result.rows) {
    std::snprintf(line, sizeof line, "%-10s %-60s %14llu %14llu %10s\n", to_string(r.verdict), r.kernel.c_str(),
                  static_cast<unsigned long long>(r.baseline), static_cast<unsigned long long>(r.measured),
                  r.verdict == CountVerdict::missing || r.verdict == CountVerdict::untracked ? "-"
                                                                                              : percent(r.change).c_str());
    out << line;
  }
  const std::string limit = percent(tolerance);
  if (result.regression) {
    out << "FAIL: instruction counts regressed (SLOWER: grew by more than " << limit
        << "; MISSING: a tracked kernel was not measured; UNTRACKED: a kernel has no baseline). If the change is "
           "intended, regenerate the baseline: "
        << update_command << "\n";
  } else if (result.improvement) {
    out << "PASS, with kernels FASTER by more than " << limit
        << ": regenerate the baseline so the gain is kept (" << update_command << ")\n";
  } else {
    out << "PASS: every kernel within " << limit << " of the baseline\n";
  }
  return out.str();
}

std::map<std::string, uint64_t> read_callgrind_dumps(const std::string& dir) {
  std::map<std::string, uint64_t> counts;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string text, name;
    bool has_totals = false;
    uint64_t totals = 0;
    while (std::getline(in, text)) {
      if (text.rfind(kTrigger, 0) == 0) name = text.substr(std::string(kTrigger).size());
      // "totals:" is the file's own sum; "summary:" is the older spelling of the same line.
      if (text.rfind("totals: ", 0) == 0 || (!has_totals && text.rfind("summary: ", 0) == 0)) {
        totals = std::stoull(text.substr(text.find(' ') + 1));
        has_totals = true;
      }
    }
    if (name.empty()) continue;  // the dump at program exit, or another tool's file
    if (!has_totals) throw std::runtime_error(entry.path().string() + ": callgrind dump of '" + name + "' has no totals line");
    if (!counts.emplace(name, totals).second)
      throw std::runtime_error(entry.path().string() + ": kernel '" + name + "' was dumped twice in " + dir);
  }
  return counts;
}

InstructionBaseline read_instruction_baseline(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the instruction-count baseline");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
  auto field = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) throw std::runtime_error(path + ": missing field '" + key + "'");
    return j.at(key);
  };
  try {
    if (field("schema").get<std::string>() != kSchema)
      throw std::runtime_error(path + ": schema is '" + field("schema").get<std::string>() + "', expected '" + kSchema + "'");
    InstructionBaseline b;
    b.compiler = field("compiler").get<std::string>();
    b.build_type = field("build_type").get<std::string>();
    b.valgrind = field("valgrind").get<std::string>();
    b.tolerance = field("tolerance").get<double>();
    if (!(b.tolerance >= 0.0 && b.tolerance < 1.0)) throw std::runtime_error(path + ": tolerance must be in [0, 1)");
    for (const auto& [name, count] : field("instructions").items()) {
      if (!count.is_number_unsigned()) throw std::runtime_error(path + ": instructions of '" + name + "' is not a count");
      b.kernels[name] = count.get<uint64_t>();
    }
    return b;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

void write_instruction_baseline(const std::string& path, const InstructionBaseline& baseline) {
  nlohmann::ordered_json j;
  j["schema"] = kSchema;
  j["about"] =
      "Instructions (callgrind Ir) of one call of each CPU kernel's AVX2 path at a fixed small shape, single-threaded, "
      "deterministic inputs; compared by the ctest test callgrind_instruction_tracking (cases/perf_tracking).";
  j["compiler"] = baseline.compiler;
  j["build_type"] = baseline.build_type;
  j["valgrind"] = baseline.valgrind;
  j["tolerance"] = baseline.tolerance;
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (const auto& [name, count] : baseline.kernels) counts[name] = count;
  j["instructions"] = counts;
  const std::string text = j.dump(2) + "\n";
  AtomicFileWriter writer(path);
  writer.write(text.data(), text.size());
  writer.commit();
}

}  // namespace smoothcheck::perf_tracking
