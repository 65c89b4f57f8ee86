#include "cases/property/property_support.h"

#include <algorithm>
#include <cfloat>
#include <iostream>
#include <sstream>

#include "harness/backends.h"
#include "harness/differential/compare.h"

namespace smoothcheck::property {

std::vector<std::string> property_backend_names() {
  return {"cpu-scalar", "cpu-avx2", "cuda", "cuda-cublaslt", "cuda-emulated"};
}

std::string test_name_of(const std::string& backend_name) {
  std::string s = backend_name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

void BackendProperty::SetUp() {
  backend_ = make_backend(GetParam());
  std::string why_not;
  if (!backend_->available(&why_not)) GTEST_SKIP() << GetParam() << " is not available here: " << why_not;
  runner_ = backend_runner(*backend_);
}

namespace {

// Checks `property` under RC_PARAMS' configuration with maxSuccess replaced (and shrinking on when
// `shrink`), as test `id`; rapidcheck's own account of the result goes to *message.
rc::detail::TestResult check_with_max_success(const std::string& id, const rc::detail::Property& property,
                                              int max_success, bool shrink, std::string* message) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = max_success;
  if (shrink) params.disableShrinking = false;
  rc::detail::TestMetadata metadata;
  metadata.id = id;
  metadata.description = id;
  const rc::detail::TestResult result = rc::detail::checkProperty(property, metadata, params);
  std::ostringstream text;
  rc::detail::printResultMessage(result, text);
  *message = text.str();
  return result;
}

}  // namespace

void expect_property_counterexample(const std::string& what, const rc::detail::Property& property, int max_cases) {
  std::string message;
  const rc::detail::TestResult result = check_with_max_success(what, property, max_cases, /*shrink=*/true, &message);
  rc::detail::FailureResult failure;
  if (result.match(failure)) {
    // What the shrunk counterexample looks like is the point of the test: keep it in the log.
    std::cout << "[ caught    ] " << what << ": rapidcheck found and shrank a counterexample after "
              << failure.numSuccess << " passing cases\n"
              << message << "\n";
    EXPECT_FALSE(failure.counterExample.empty()) << "a failure without a counterexample";
    return;
  }
  ADD_FAILURE() << what << ": the property did not fail on a deliberately wrong implementation within " << max_cases
                << " cases, so it cannot be trusted to catch this bug.\n"
                << message;
}

void expect_property_gives_up(const std::string& what, const rc::detail::Property& property, int max_cases) {
  std::string message;
  const rc::detail::TestResult result = check_with_max_success(what, property, max_cases, /*shrink=*/false, &message);
  rc::detail::GaveUpResult gave_up;
  if (result.match(gave_up)) {
    std::cout << "[ gave up   ] " << what << ": " << gave_up.description << " (after " << gave_up.numSuccess
              << " passing cases)\n";
    return;
  }
  ADD_FAILURE() << what << ": rapidcheck did not give up, so refused cases could pass for checked ones.\n"
                << message;
}

std::string current_test_id() {
  const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
  return t ? std::string(t->test_suite_name()) + "/" + t->name() : "property";
}

void check_property_capped(const std::string& id, const rc::detail::Property& property, int max_success) {
  std::string message;
  const rc::detail::TestResult result = check_with_max_success(
      id, property, std::min(rc::detail::configuration().testParams.maxSuccess, max_success), /*shrink=*/false,
      &message);
  rc::detail::SuccessResult success;
  if (result.match(success)) {
    std::cout << "[ property ] " << id << ": " << success.numSuccess << " cases (capped at " << max_success
              << " for this backend)\n";
    return;
  }
  ADD_FAILURE() << id << ": " << message;
}

double storage_roundoff(DType dtype) {
  const double u = unit_roundoff(dtype);
  if (dtype == DType::f16 || dtype == DType::bf16) return u + unit_roundoff(DType::f32) * (1 + u);
  return u;
}

double underflow_error(DType dtype) {
  switch (dtype) {
    case DType::f64: return std::ldexp(1.0, -1075);
    case DType::f32: return std::ldexp(1.0, -150);
    case DType::f16: return std::ldexp(1.0, -25);
    case DType::bf16: return std::ldexp(1.0, -134);
    default: return 0.0;
  }
}

double largest_finite(DType dtype) {
  switch (dtype) {
    case DType::f64: return DBL_MAX;
    case DType::f32: return FLT_MAX;
    case DType::f16: return 65504.0;
    case DType::bf16: return std::ldexp(255.0, 120);
    default: return 0.0;
  }
}

double gamma_k(int64_t k, double u) { return double(k) * u / (1.0 - double(k) * u); }

PropertyRegistry& property_registry() {
  static PropertyRegistry registry;  // filled by static initialisers: constructed on first use
  return registry;
}

bool register_property(const std::string& property) {
  property_registry().properties.push_back(property);
  return true;
}

bool register_twin(const std::string& property, const std::string& twin) {
  property_registry().twins.emplace_back(property, twin);
  return true;
}

std::vector<std::string> twin_registry_problems(const PropertyRegistry& registry) {
  std::vector<std::string> problems;
  for (const std::string& p : registry.properties) {
    bool has_twin = false;
    for (const auto& [property, twin] : registry.twins) has_twin = has_twin || property == p;
    if (!has_twin) problems.push_back("property " + p + " has no failing twin (SMOOTHCHECK_TWIN_OF)");
  }
  for (const auto& [property, twin] : registry.twins) {
    bool known = false;
    for (const std::string& p : registry.properties) known = known || p == property;
    if (!known) problems.push_back("twin " + twin + " names " + property + ", which is no registered property");
  }
  return problems;
}

}  // namespace smoothcheck::property
