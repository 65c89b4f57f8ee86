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
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "cases/property/step_runner.h"
#include "harness/compare.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::property {

// "cpu-scalar", "cpu-avx2", "cuda", "cuda-cublaslt": every backend a property must hold on.
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

template <class... Args>
std::function<void(Args...)> bind_runner(StepRunner& runner, void (*prop)(StepRunner&, Args...)) {
  return [&runner, prop](Args... args) { prop(runner, args...); };
}

// Checks the property under the global configuration (RC_PARAMS), reporting through gtest.
template <class... Args>
void check_on(StepRunner& runner, void (*prop)(StepRunner&, Args...)) {
  rc::detail::checkGTest(bind_runner(runner, prop));
}

// Runs a property that must fail: seed from RC_PARAMS, at most max_cases cases, shrinking on. Passes
// (and prints the shrunk counterexample) when rapidcheck reports a failure; fails otherwise.
void expect_property_counterexample(const std::string& what, const rc::detail::Property& property, int max_cases);
template <class Callable>
void expect_counterexample(const std::string& what, Callable&& callable, int max_cases = 300) {
  expect_property_counterexample(what, rc::detail::toProperty(std::forward<Callable>(callable)), max_cases);
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

}  // namespace smoothcheck::property

// TEST_P over every backend name, with readable test names ("…/cpu_scalar").
#define SMOOTHCHECK_INSTANTIATE_ON_BACKENDS(Fixture)                                                  \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture,                                                        \
                           ::testing::ValuesIn(::smoothcheck::property::property_backend_names()),   \
                           [](const ::testing::TestParamInfo<std::string>& info) {                    \
                             return ::smoothcheck::property::test_name_of(info.param);                \
                           })

// The property `fn` on the reference (Suite.OnReference) and on every backend (Backends/SuiteOnBackend.Holds/<name>).
#define SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(Suite, fn)                                     \
  TEST(Suite, OnReference) {                                                                          \
    auto reference = ::smoothcheck::property::reference_runner();                                    \
    ::smoothcheck::property::check_on(*reference, &fn);                                               \
  }                                                                                                   \
  class Suite##OnBackend : public ::smoothcheck::property::BackendProperty {};                       \
  TEST_P(Suite##OnBackend, Holds) { ::smoothcheck::property::check_on(runner(), &fn); }              \
  SMOOTHCHECK_INSTANTIATE_ON_BACKENDS(Suite##OnBackend)
