// Every property of this executable has a failing twin (issue 12): the property macros of
// property_support.h register each property and each twin while the executable starts, and this test
// reads that registry. It is linked into every property executable, so each checks its own properties.
#include <gtest/gtest.h>

#include "cases/property/property_support.h"

namespace smoothcheck::property {
namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

TEST(PropertyTwins, EveryPropertyHasAFailingTwin) {
  const PropertyRegistry& registry = property_registry();
  ASSERT_FALSE(registry.properties.empty()) << "no property registered: the registry is not being fed";
  const std::vector<std::string> problems = twin_registry_problems(registry);
  EXPECT_TRUE(problems.empty()) << joined(problems);
  std::cout << "[ twins     ] " << registry.properties.size() << " properties, " << registry.twins.size()
            << " failing twins\n";
}

// The check itself can fail: a property without a twin and a twin of a misspelt property are named.
TEST(PropertyTwins, RegistryCheckNamesAPropertyWithoutTwinAndAnOrphanTwin) {
  PropertyRegistry registry;
  registry.properties = {"Proven", "Unproven"};
  registry.twins = {{"Proven", "ProvenCanFail.CatchesIt"}, {"Misspelt", "MisspeltCanFail.CatchesIt"}};
  const std::vector<std::string> problems = twin_registry_problems(registry);
  ASSERT_EQ(problems.size(), 2u) << joined(problems);
  EXPECT_NE(problems[0].find("property Unproven has no failing twin"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("MisspeltCanFail.CatchesIt names Misspelt"), std::string::npos) << problems[1];
}

}  // namespace
}  // namespace smoothcheck::property
