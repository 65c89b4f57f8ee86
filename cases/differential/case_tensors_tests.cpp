// The runner's shared checks (harness/differential/case_tensors.h) as every case relies on them: they run only after
// a kernel that returned, a waived or failed kernel ends the case with nothing compared, the failure
// lines come in the order the cases used to write them, and a failing case keeps its inputs and actual
// outputs for the repro while a passing one keeps nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <stdexcept>

#include "harness/backends.h"
#include "harness/differential/case_runner.h"
#include "harness/differential/case_tensors.h"

namespace smoothcheck {
namespace {

std::vector<std::string> kept_names(const CaseResult& r) {
  std::vector<std::string> names;
  for (const NamedTensor& t : r.tensors) names.push_back(t.name);
  return names;
}

// One input x [2, 3] and one output q [2, 3] with a padded row, the "kernel" given by the test.
struct Fixture {
  CaseResult result;
  CaseTensors tensors{result};
  HostTensor& x = tensors.input_matrix("x", DType::f32, 2, 3, 0, {1, 2, 3, 4, 5, 6});
  HostTensor& q = tensors.output_matrix("q", DType::i8, 2, 3, 1, ZeroOutput::fails);

  bool run(const std::function<void()>& kernel) { return tensors.run_kernel(kernel); }
  void fill_q(int8_t value) {
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 3; ++c) q.set(r, c, value);
  }
};

TEST(CaseTensors, PassingKernelLeavesNoFailureAndKeepsNothing) {
  Fixture f;
  ASSERT_TRUE(f.run([&] { f.fill_q(1); }));
  f.tensors.check_after_case();
  EXPECT_TRUE(f.result.failures.empty());
  EXPECT_TRUE(f.result.tensors.empty());
  EXPECT_EQ(f.result.outcome, Outcome::not_verified);  // the runner concludes
}

TEST(CaseTensors, GuardThenInputFailuresInDeclarationOrderAndTheRepro) {
  Fixture f;
  ASSERT_TRUE(f.run([&] {
    f.fill_q(1);
    static_cast<int8_t*>(f.q.data())[3] = 0;  // row 0's padding
    f.x.set(1, 2, 7.0);
  }));
  f.result.fail("codes", "q: the case's own comparison");
  f.tensors.check_after_case();
  ASSERT_EQ(f.result.failures.size(), 3u);
  EXPECT_EQ(f.result.failures[0].rfind("guard: q written out of bounds", 0), 0u) << f.result.failures[0];
  EXPECT_EQ(f.result.failures[1], "input: x was modified by the kernel");
  EXPECT_EQ(f.result.failures[2], "codes: q: the case's own comparison");
  EXPECT_EQ(kept_names(f.result), (std::vector<std::string>{"x", "actual_q"}));
  EXPECT_EQ(f.result.tensors[1].shape, (std::vector<int64_t>{2, 3}));
}

TEST(CaseTensors, AllZeroOutputFailsAfterTheCaseJudged) {
  Fixture f;
  ASSERT_TRUE(f.run([&] { f.fill_q(0); }));
  f.result.fail("codes", "q: the case's own comparison");
  f.tensors.check_after_case();
  ASSERT_EQ(f.result.failures.size(), 2u);
  EXPECT_EQ(f.result.failures[1], "nonzero: q is all zero");
}

TEST(CaseTensors, AllZeroOutputPassesWhereTheCaseAllowsIt) {
  CaseResult result;
  CaseTensors tensors(result);
  HostTensor& scale = tensors.output_vector("scale", DType::f32, 4, ZeroOutput::allowed);
  ASSERT_TRUE(tensors.run_kernel([&] { std::memset(scale.data(), 0, 4 * sizeof(float)); }));
  tensors.check_after_case();
  EXPECT_TRUE(result.failures.empty());
}

TEST(CaseTensors, InPlaceTensorIsGuardedButNotCheckedUnmodified) {
  CaseResult result;
  CaseTensors tensors(result);
  HostTensor& w = tensors.in_place_matrix("w", DType::f32, 1, 2, 0, {1, 2}, ZeroOutput::fails);
  ASSERT_TRUE(tensors.run_kernel([&] { w.set(0, 0, 3.0); }));
  tensors.check_after_case();
  EXPECT_TRUE(result.failures.empty());
}

TEST(CaseTensors, WaivedOrFailedKernelEndsTheCaseWithoutChecks) {
  for (bool unsupported : {true, false}) {
    Fixture f;
    EXPECT_FALSE(f.run([&] {
      static_cast<int8_t*>(f.q.data())[3] = 0;  // would fail the guard if anything were checked
      if (unsupported) throw kernels::UnsupportedArguments("not this shape");
      throw std::runtime_error("launch failed");
    }));
    f.tensors.check_after_case();
    EXPECT_EQ(f.result.outcome, unsupported ? Outcome::waived : Outcome::kernel_error);
    EXPECT_EQ(f.result.reason, unsupported ? "not this shape" : "launch failed");
    EXPECT_TRUE(f.result.failures.empty());
    EXPECT_TRUE(f.result.tensors.empty());
  }
}

TEST(CaseTensors, EachTensorFailureIsReportedOnceOverSeveralKernelCalls) {
  Fixture f;
  ASSERT_TRUE(f.run([&] { f.x.set(0, 0, 9.0); }));
  ASSERT_TRUE(f.run([&] { f.fill_q(1); }));
  EXPECT_EQ(f.result.failures, (std::vector<std::string>{"input: x was modified by the kernel"}));
}

// A harness exception in a case is a kernel error carrying only its message: what the case recorded
// before it threw proves nothing.
struct ThrowsAfterAFailure final : Case {
  std::string name() const override { return "throws"; }
  uint64_t seed() const override { return 0; }
  int64_t work() const override { return 1; }
  void run(kernels::Backend&, CaseTensors&, CaseResult& r) const override {
    r.fail("codes", "q: recorded before the harness failed");
    throw std::logic_error("harness bug");
  }
};

TEST(CaseRunner, HarnessExceptionIsAKernelErrorWithOnlyItsMessage) {
  const Family family{"test_family", [] { return CaseList{}; }};
  auto backend = make_backend("cpu");
  const CaseReport report = run_case(family, ThrowsAfterAFailure{}, *backend, RunOptions{});
  EXPECT_EQ(report.result.outcome, Outcome::kernel_error);
  EXPECT_EQ(report.result.reason, "harness exception: harness bug");
  EXPECT_TRUE(report.result.failures.empty());
}

}  // namespace
}  // namespace smoothcheck
