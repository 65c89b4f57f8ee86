// How a property is run: once on the float64 reference and once per backend (a backend that cannot
// run here is a GTEST_SKIP with its reason, never a silent pass), and how a "can fail" test runs the
// same property on a deliberately wrong implementation and demands a shrunk counterexample.
//
// A property is a free function `void p(StepRunner&, Args...)`; rapidcheck draws Args. check_on binds
// the runner and hands the rest to rc::detail::checkGTest, exactly what RC_GTEST_PROP expands to, so
// the test id (and RC_PARAMS="reproduce=...") is "<suite>/<test>" as for any RC_GTEST_PROP.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "cases/property/step_runner.h"
#include "harness/differential/compare.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::property {

// "cpu-scalar", "cpu-avx2", "cuda", "cuda-cublaslt", "cuda-emulated" (the CUDA source on the CPU): every
// backend a property must hold on.
std::vector<std::string> property_backend_names();
std::string test_name_of(const std::string& backend_name);  // gtest needs [A-Za-z0-9_]

// Creates the backend named by the test parameter; skips the test with the backend's reason when it
// cannot run here.
class BackendProperty : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  StepRunner& runner() { return *runner_; }
  kernels::Backend& backend() { return *backend_; }

 private:
  std::unique_ptr<kernels::Backend> backend_;
  std::unique_ptr<StepRunner> runner_;
};

// A case the backend refuses as a documented limit of its own (kernels::UnsupportedArguments: cuBLASLt's
// int8 GEMM needs K and N multiples of 4) is discarded, as the differential runner waives it: rapidcheck
// draws another and still demands max_success passing cases, and gives up, failing the property, when
// the backend refuses more than max_discard_ratio cases per pass (a backend refusing every case cannot
// pass: IntegerGemmExactnessCanFail.GivesUpOnABackendRefusingEveryGemm).
template <class... Args>
std::function<void(Args...)> bind_runner(StepRunner& runner, void (*prop)(StepRunner&, Args...)) {
  return [&runner, prop](Args... args) {
    try {
      prop(runner, args...);
    } catch (const kernels::UnsupportedArguments& e) {
      RC_DISCARD(runner.name() + " refuses the case: " + e.what());
    }
  };
}

// The CPU emulation of the CUDA backend runs one fiber per CUDA thread with every access checked: a
// K = 16384 GEMM costs it about a second, so its properties check at most this many cases (same seed
// and sizes as every other backend; a real card runs the full count through scripts/gpu_run.sh).
inline constexpr int kEmulatedBackendMaxSuccess = 100;
// Checks `property` with at most max_success cases (else as RC_PARAMS says), reporting through gtest.
void check_property_capped(const std::string& id, const rc::detail::Property& property, int max_success);
// "<suite>/<test>" of the running gtest test, the id RC_PARAMS="reproduce=..." refers to.
std::string current_test_id();

// Checks the property under the global configuration (RC_PARAMS), reporting through gtest.
template <class... Args>
void check_on(StepRunner& runner, void (*prop)(StepRunner&, Args...)) {
  if (runner.name() == "cuda-emulated")
    return check_property_capped(current_test_id(), rc::detail::toProperty(bind_runner(runner, prop)),
                                 kEmulatedBackendMaxSuccess);
  rc::detail::checkGTest(bind_runner(runner, prop));
}

// Runs a property that must fail: seed from RC_PARAMS, at most max_cases cases, shrinking on. Passes
// (and prints the shrunk counterexample) when rapidcheck reports a failure; fails otherwise.
void expect_property_counterexample(const std::string& what, const rc::detail::Property& property, int max_cases);
template <class Callable>
void expect_counterexample(const std::string& what, Callable&& callable, int max_cases = 300) {
  expect_property_counterexample(what, rc::detail::toProperty(std::forward<Callable>(callable)), max_cases);
}
// Runs a property that must give up (too many discarded cases) within max_cases passing cases: passes
// when rapidcheck reports that it gave up; fails otherwise.
void expect_property_gives_up(const std::string& what, const rc::detail::Property& property, int max_cases);
// The same for a property of a StepRunner, run on a deliberately wrong backend (null: a test failure).
template <class... Args>
void expect_counterexample_on(const std::string& what, std::unique_ptr<kernels::Backend> wrong_backend,
                              void (*property)(StepRunner&, Args...)) {
  ASSERT_TRUE(wrong_backend) << what << ": no such wrong backend";
  auto runner = backend_runner(*wrong_backend);
  expect_counterexample(what, bind_runner(*runner, property));
}

// ---- numerics.md §8 quantities ----------------------------------------------------------------------
// Error of storing a value computed in f32 into dtype: one rounding for f32/f64 (the reference rounds
// correctly from float64); for f16/bf16 the kernels round the exact value to f32 and then to the dtype,
// whose combined relative error is u_dtype + u_f32 (1 + u_dtype).
double storage_roundoff(DType dtype);
// Half the smallest subnormal: the absolute error a rounding may add below the normal range.
double underflow_error(DType dtype);
double largest_finite(DType dtype);
double gamma_k(int64_t k, double u);  // k·u / (1 − k·u)

// A view of a float64 matrix as its rows of values.
inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::fmax(m, std::fabs(x));
  return m;
}

// ---- every property has a failing twin --------------------------------------------------------------
// Each property registers its name here when its executable starts (the macros below do it), and each
// "can fail" twin registers the property it proves; PropertyTwins.EveryPropertyHasAFailingTwin (in
// property_twin_registry_tests.cpp, linked into every property executable) fails when a registered
// property has no twin or a twin names no registered property. A property written with a bare
// RC_GTEST_PROP or rc::detail::checkGTest bypasses the registry: write it with the macros below.
struct PropertyRegistry {
  std::vector<std::string> properties;
  std::vector<std::pair<std::string, std::string>> twins;  // (property, twin test)
};
PropertyRegistry& property_registry();
bool register_property(const std::string& property);
bool register_twin(const std::string& property, const std::string& twin);
// One line per problem: a property without a twin, or a twin of an unknown property. Empty: all good.
std::vector<std::string> twin_registry_problems(const PropertyRegistry& registry);

}  // namespace smoothcheck::property

// TEST_P over every backend name, with readable test names ("…/cpu_scalar").
#define SMOOTHCHECK_INSTANTIATE_ON_BACKENDS(Fixture)                                                  \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture,                                                         \
                           ::testing::ValuesIn(::smoothcheck::property::property_backend_names()),    \
                           [](const ::testing::TestParamInfo<std::string>& info) {                    \
                             return ::smoothcheck::property::test_name_of(info.param);                \
                           })

// The property `fn` on the reference (Suite.OnReference) and on every backend (Backends/SuiteOnBackend.Holds/<name>).
// Registered as the property "Suite"; its twins are SMOOTHCHECK_TWIN_OF(Suite, ...).
#define SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(Suite, fn)                                     \
  [[maybe_unused]] static const bool Suite##_is_registered =                                          \
      ::smoothcheck::property::register_property(#Suite);                                             \
  TEST(Suite, OnReference) {                                                                          \
    auto reference = ::smoothcheck::property::reference_runner();                                     \
    ::smoothcheck::property::check_on(*reference, &fn);                                               \
  }                                                                                                   \
  class Suite##OnBackend : public ::smoothcheck::property::BackendProperty {};                        \
  TEST_P(Suite##OnBackend, Holds) { ::smoothcheck::property::check_on(runner(), &fn); }               \
  SMOOTHCHECK_INSTANTIATE_ON_BACKENDS(Suite##OnBackend)

// A property that is not run per backend: RC_GTEST_PROP(Suite, Name, args), registered as "Suite.Name";
// its twins are SMOOTHCHECK_TWIN_OF_TEST(Suite, Name, ...).
#define SMOOTHCHECK_RC_PROPERTY(Suite, Name, args)                                                    \
  [[maybe_unused]] static const bool Suite##_##Name##_is_registered =                                 \
      ::smoothcheck::property::register_property(#Suite "." #Name);                                   \
  RC_GTEST_PROP(Suite, Name, args)

// Registers a property checked by a hand-written TEST/TEST_P as "Suite.Name".
#define SMOOTHCHECK_REGISTER_PROPERTY(Suite, Name)                                                    \
  [[maybe_unused]] static const bool Suite##_##Name##_is_registered =                                 \
      ::smoothcheck::property::register_property(#Suite "." #Name)

// The failing twin of the property "Suite": TEST(SuiteCanFail, Twin), whose body must run the property
// on a deliberately wrong implementation and demand a counterexample (expect_counterexample).
#define SMOOTHCHECK_TWIN_OF(Suite, Twin)                                                              \
  [[maybe_unused]] static const bool Suite##_##Twin##_is_registered =                                 \
      ::smoothcheck::property::register_twin(#Suite, #Suite "CanFail." #Twin);                        \
  TEST(Suite##CanFail, Twin)

// The failing twin of the property "Suite.Name": TEST(SuiteNameCanFail, Twin).
#define SMOOTHCHECK_TWIN_OF_TEST(Suite, Name, Twin)                                                   \
  [[maybe_unused]] static const bool Suite##_##Name##_##Twin##_is_registered =                        \
      ::smoothcheck::property::register_twin(#Suite "." #Name, #Suite #Name "CanFail." #Twin);        \
  TEST(Suite##Name##CanFail, Twin)
