// The one argument reader every command and sub-command uses: arguments read left to right, an option's
// value is the argument after it, numbers parsed whole. Every failure is std::invalid_argument naming
// the option, which main reports with the command's name and exit code 2.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace smoothcheck::cli {

class ArgReader {
 public:
  ArgReader(int argc, char** argv) : argc_(argc), argv_(argv) {}

  // Moves to the next argument; false when there is none.
  bool next() { return ++i_ < argc_; }
  std::string current() const { return argv_[i_]; }
  // The current option's value, consumed; std::invalid_argument naming the option when it is last.
  std::string value() {
    if (i_ + 1 >= argc_) throw std::invalid_argument(current() + " needs a value");
    return argv_[++i_];
  }
  // Whether the current argument asks for the usage text (--help or -h): every command answers it
  // with exit code 0.
  bool help() const { return current() == "--help" || current() == "-h"; }
  // Whether the current argument is a positional one (not an option).
  bool positional() const { return !current().empty() && current()[0] != '-'; }

 private:
  int argc_;
  char** argv_;
  int i_ = -1;
};

// Parses all of `text` as the named option's value, at least min_value.
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

}  // namespace smoothcheck::cli
