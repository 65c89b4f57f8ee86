// Shared by the report tests: running the built smoothcheck command (and other executables) as a
// CI job would, and a scratch directory per test.
#pragma once

#include <filesystem>
#include <string>

namespace smoothcheck::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh; output captured.
CommandResult run_command(const std::string& command);

// The smoothcheck executable of this build (SMOOTHCHECK_EXE, set by CMake).
std::string smoothcheck_exe();

// A fresh, empty directory under the build's temporary area, named after the running test.
std::filesystem::path fresh_test_dir();

std::string read_text(const std::filesystem::path& file);

// Single-quoted for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace smoothcheck::testing
