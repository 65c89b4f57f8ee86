#include "harness/differential/case_registry.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace smoothcheck {
namespace {

// Constructed on first use: a registration in another file may run before any static of this one.
std::vector<Family>& registrations() {
  static std::vector<Family> families;
  return families;
}

}  // namespace

CaseTableRegistration::CaseTableRegistration(std::string family, std::function<CaseList()> table) {
  registrations().push_back({std::move(family), std::move(table)});
}

std::vector<Family> registered_families() {
  std::vector<Family> families = registrations();
  std::sort(families.begin(), families.end(), [](const Family& a, const Family& b) { return a.name < b.name; });
  const auto twin = std::adjacent_find(families.begin(), families.end(),
                                       [](const Family& a, const Family& b) { return a.name == b.name; });
  if (twin != families.end()) throw std::logic_error("two case tables registered as family " + twin->name);
  return families;
}

}  // namespace smoothcheck
