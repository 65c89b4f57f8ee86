// The case tables register themselves: each cases/*_cases.cpp file defines one CaseTableRegistration
// per kernel family it holds, so the harness (the smoothcheck command) and the tests run every table
// without naming the files that define them, and adding a family touches no central list.
//
// The registrations run while the executable starts, so they only exist in executables that link the
// objects defining them: cases/CMakeLists.txt builds the tables as an OBJECT library for that reason (a
// static archive member that nothing references would be dropped by the linker, and its family with it).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "harness/differential/case_runner.h"

namespace smoothcheck {

class CaseTableRegistration {
 public:
  CaseTableRegistration(std::string family, std::function<CaseList()> table);
};

// Every registered family, sorted by name: the order of static initialisation across files is
// unspecified, and runs, listings and reports should not depend on the link order. Throws
// std::logic_error when two registrations share a family name.
std::vector<Family> registered_families();

}  // namespace smoothcheck
