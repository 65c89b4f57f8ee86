// Every named option of kernels/options.h can be told apart: for each value of each option enum there is
// a mutant that ignores that value or swaps it for its neighbour, and MutantIsCaught (in this executable)
// proves the family table catches each one with the check it names. The values are enumerated from the
// enums themselves (to_string is "?" past the last enumerator), not from a list here that could go stale:
// a new Rounding, ScaleMath, Clamp, ZeroRow, WeightQuant, Recipe or Epilogue fails this test until a mutant
// proves the tables can tell it from its neighbours.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cases/differential/mutant_backends.h"
#include "kernels/options.h"

namespace smoothcheck {
namespace {

template <typename Enum>
std::vector<std::string> every_value(const char* type) {
  std::vector<std::string> names;
  for (int i = 0; i < 64; ++i) {
    const Enum value = static_cast<Enum>(i);
    if (std::string(to_string(value)) == "?") break;
    names.push_back(mutants::option_name(type, value));
  }
  return names;
}

// The options a kernel family takes. SmoothMode is not among them: it chooses where the pipeline applies s
// (harness/pipeline), not a kernel's arithmetic, and its tests live with the pipeline.
std::vector<std::string> every_kernel_option() {
  std::vector<std::string> all;
  for (auto list : {every_value<Rounding>("Rounding"), every_value<ScaleMath>("ScaleMath"), every_value<Clamp>("Clamp"),
                    every_value<ZeroRow>("ZeroRow"), every_value<WeightQuant>("WeightQuant"),
                    every_value<Recipe>("Recipe"), every_value<Epilogue>("Epilogue")})
    all.insert(all.end(), list.begin(), list.end());
  return all;
}

TEST(OptionCoverage, EnumerationFindsEveryEnumerator) {
  // Guards the enumeration itself: the two-valued enums give two names, the three-valued ones three.
  EXPECT_EQ(every_value<Rounding>("Rounding").size(), 2u);
  EXPECT_EQ(every_value<WeightQuant>("WeightQuant").size(), 3u);
  EXPECT_EQ(every_value<Recipe>("Recipe").size(), 3u);
  EXPECT_EQ(every_value<Epilogue>("Epilogue").size(), 2u);
}

TEST(OptionCoverage, EveryOptionValueHasAMutantThatIgnoresIt) {
  const std::vector<mutants::Mutant> all = mutants::all_mutants();
  for (const std::string& option : every_kernel_option()) {
    int count = 0;
    for (const mutants::Mutant& m : all)
      if (m.ignores_option == option) ++count;
    EXPECT_GT(count, 0) << "no mutant ignores or swaps " << option
                        << ": add one to cases/differential/option_mutant_backends.cpp and a row that catches it";
  }
}

TEST(OptionCoverage, EveryMutantOptionIsARealOption) {
  const std::vector<std::string> options = every_kernel_option();
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    if (m.ignores_option.empty()) continue;
    EXPECT_NE(std::find(options.begin(), options.end(), m.ignores_option), options.end())
        << m.name << " names an unknown option " << m.ignores_option;
  }
}

}  // namespace
}  // namespace smoothcheck
