// Deliberately wrong kernels, each the CPU backend with one realistic bug, for proving that the
// differential runner catches what it claims to catch. Test-only: never linked into smoothcheck.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck::mutants {

struct Mutant {
  std::string name;         // what is wrong, e.g. "half_away_rounding_where_half_even_is_required"
  std::string family;       // the kernel family whose cases must catch it
  std::string case_filter;  // a subset of that family's cases that is enough to catch it (fast)
  std::function<std::unique_ptr<kernels::Backend>()> make;
  // The check that must report it, as a failure line begins: "<check>: <tensor>", e.g. "codes: q",
  // "bound: scale", "rounded: out" (harness/differential/compare.h). Another check failing instead does not count.
  std::string caught_by;
  // The named option of kernels/options.h it ignores or swaps for its neighbour, as option_name() spells
  // it ("Rounding::half_even"); empty for bugs that are not about an option.
  std::string ignores_option;
};

std::vector<Mutant> all_mutants();  // every kernel mutant, option_mutants() and runner_check_mutants() included
std::vector<Mutant> option_mutants();  // one or more per named option value (option_mutant_backends.cpp)
// One per check the runner makes for every case: guards, unmodified inputs, not all zero
// (runner_check_mutants.cpp).
std::vector<Mutant> runner_check_mutants();

// "Rounding::half_even": the spelling Mutant::ignores_option uses.
template <typename Enum>
std::string option_name(const char* type, Enum value) {
  return std::string(type) + "::" + to_string(value);
}

// For gtest's parameter printing (ctest names carry it).
inline void PrintTo(const Mutant& m, std::ostream* os) { *os << m.name; }

}  // namespace smoothcheck::mutants
