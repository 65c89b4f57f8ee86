// The case tables reach the runner only through their registrations (harness/differential/case_registry.h): a linker
// that dropped them (cases/CMakeLists.txt) would leave `smoothcheck run` and the differential tests with
// fewer tables, or none, and nothing else would notice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/differential/case_registry.h"

namespace smoothcheck {
namespace {

TEST(CaseRegistry, EveryCaseTableIsRegisteredOnceInNameOrder) {
  std::vector<std::string> names;
  for (const Family& family : registered_families()) {
    names.push_back(family.name);
    EXPECT_FALSE(family.cases().empty()) << family.name << " registers an empty table";
  }
  const std::vector<std::string> expected = {"apply_smoothing",     "channel_stats",      "gemm_s8s8s32",
                                             "gemm_w8a8",           "quantize_per_tensor", "quantize_per_token",
                                             "quantize_weight",     "rmsnorm_quantize",   "smooth_scale",
                                             "weight_stat"};
  EXPECT_EQ(names, expected);
}

}  // namespace
}  // namespace smoothcheck
