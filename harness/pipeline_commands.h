// The checkpoint pipeline's subcommands: `calibrate`, `quantize`, `verify`, `forward` (harness/pipeline/), and
// the argument parsing they share. Each returns the process exit code: 0 success, 1 a check failed
// (verify), 2 a usage or input error (thrown, reported by main).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace smoothcheck {

int command_calibrate(int argc, char** argv);
int command_quantize(int argc, char** argv);
int command_verify(int argc, char** argv);
int command_forward(int argc, char** argv);

namespace cli {

// Parses all of `text` as the named option's value; std::invalid_argument naming the option otherwise.
inline int64_t parse_int(const std::string& option, const std::string& text, int64_t min_value) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) throw std::invalid_argument(option + " takes an integer, not '" + text + "'");
  if (v < min_value) throw std::invalid_argument(option + " must be at least " + std::to_string(min_value));
  return v;
}

inline double parse_double(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) throw std::invalid_argument(option + " takes a number, not '" + text + "'");
  return v;
}

}  // namespace cli
}  // namespace smoothcheck
