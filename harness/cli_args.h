// The arguments of one subcommand, read left to right: an option's value is the argument after it.
#pragma once

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

 private:
  int argc_;
  char** argv_;
  int i_ = -1;
};

}  // namespace smoothcheck::cli
