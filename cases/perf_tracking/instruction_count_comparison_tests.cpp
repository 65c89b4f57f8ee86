// The instruction-count rule (instruction_count_comparison.h) on hand-made counts: the 5 % boundary in
// both directions, missing and untracked kernels, and the readers' refusals. The end-to-end proof that
// a slowed kernel is caught under valgrind is the ctest test callgrind_instruction_tracking_catches_
// slowed_kernel.
#include "cases/perf_tracking/instruction_count_comparison.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace smoothcheck::perf_tracking {
namespace {

InstructionBaseline baseline_of(std::map<std::string, uint64_t> kernels) {
  InstructionBaseline b;
  b.compiler = "GNU 12.2.0";
  b.build_type = "Release";
  b.valgrind = "valgrind-3.19.0";
  b.tolerance = 0.05;
  b.kernels = std::move(kernels);
  return b;
}

CountVerdict verdict_for(uint64_t baseline, uint64_t measured) {
  const auto r = compare_instruction_counts(baseline_of({{"k", baseline}}), {{"k", measured}}, false);
  EXPECT_EQ(r.rows.size(), 1u);
  return r.rows.at(0).verdict;
}

struct BoundaryRow {
  uint64_t measured;  // against a baseline of 1'000'000
  CountVerdict expected;
  bool regression;
};

class BoundaryTest : public ::testing::TestWithParam<BoundaryRow> {};

TEST_P(BoundaryTest, VerdictAndFailureFollowTheFivePercentRule) {
  const BoundaryRow& row = GetParam();
  EXPECT_EQ(verdict_for(1'000'000, row.measured), row.expected) << row.measured;
  const auto r = compare_instruction_counts(baseline_of({{"k", 1'000'000}}), {{"k", row.measured}}, false);
  EXPECT_EQ(r.regression, row.regression);
}

INSTANTIATE_TEST_SUITE_P(Counts, BoundaryTest,
                         ::testing::Values(BoundaryRow{1'000'000, CountVerdict::same, false},
                                           BoundaryRow{1'050'000, CountVerdict::same, false},     // exactly +5 %
                                           BoundaryRow{1'050'001, CountVerdict::slower, true},    // just past it
                                           BoundaryRow{2'000'000, CountVerdict::slower, true},    // run twice
                                           BoundaryRow{950'000, CountVerdict::same, false},       // exactly -5 %
                                           BoundaryRow{949'999, CountVerdict::faster, false}));   // passes

TEST(InstructionCountComparison, OneSlowKernelAmongManyFailsTheRunAndIsNamed) {
  const auto r = compare_instruction_counts(baseline_of({{"a", 100}, {"b", 1000}, {"c", 10}}),
                                            {{"a", 100}, {"b", 1100}, {"c", 10}}, false);
  ASSERT_TRUE(r.regression);
  const std::string text = format_comparison(r, 0.05, "regen");
  EXPECT_NE(text.find("SLOWER     b"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL"), std::string::npos) << text;
}

TEST(InstructionCountComparison, FasterPassesButAsksForANewBaseline) {
  const auto r = compare_instruction_counts(baseline_of({{"a", 1000}}), {{"a", 500}}, false);
  EXPECT_FALSE(r.regression);
  EXPECT_TRUE(r.improvement);
  EXPECT_NE(format_comparison(r, 0.05, "REGEN-CMD").find("regenerate the baseline so the gain is kept (REGEN-CMD)"),
            std::string::npos);
}

TEST(InstructionCountComparison, MissingKernelFailsUnlessASubsetWasMeasured) {
  const auto base = baseline_of({{"a", 100}, {"b", 100}});
  const auto full = compare_instruction_counts(base, {{"a", 100}}, false);
  EXPECT_TRUE(full.regression);
  EXPECT_EQ(full.rows.at(1).verdict, CountVerdict::missing);
  EXPECT_FALSE(compare_instruction_counts(base, {{"a", 100}}, true).regression);
}

TEST(InstructionCountComparison, KernelWithoutBaselineFails) {
  const auto r = compare_instruction_counts(baseline_of({{"a", 100}}), {{"a", 100}, {"new", 5}}, true);
  EXPECT_TRUE(r.regression);
  EXPECT_EQ(r.rows.back().verdict, CountVerdict::untracked);
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sc_icount_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::filesystem::path dir_;
};

using InstructionCountFiles = TempDir;

TEST_F(InstructionCountFiles, BaselineRoundTripsThroughTheAtomicWriter) {
  const auto b = baseline_of({{"quantize_per_token/f32/t32_c1030", 123456789}, {"gemm", 42}});
  write_instruction_baseline((dir_ / "base.json").string(), b);
  const auto back = read_instruction_baseline((dir_ / "base.json").string());
  EXPECT_EQ(back.kernels, b.kernels);
  EXPECT_EQ(back.compiler, b.compiler);
  EXPECT_EQ(back.tolerance, 0.05);
}

TEST_F(InstructionCountFiles, MalformedBaselinesAreRefusedNamingFileAndProblem) {
  auto refusal = [&](const std::string& text) {
    write("bad.json", text);
    try {
      read_instruction_baseline((dir_ / "bad.json").string());
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal("{").find("bad.json: not valid JSON"), std::string::npos);
  EXPECT_NE(refusal(R"({"schema": "other/1"})").find("schema is 'other/1'"), std::string::npos);
  const std::string head =
      R"({"schema": "smoothcheck.callgrind_instructions/1", "compiler": "c", "build_type": "Release", )"
      R"("valgrind": "v", "tolerance": 0.05, )";
  EXPECT_NE(refusal(head + R"("instructions": {"k": -3}})").find("instructions of 'k' is not a count"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"schema": "smoothcheck.callgrind_instructions/1"})").find("missing field 'compiler'"),
            std::string::npos);
}

TEST_F(InstructionCountFiles, DumpsAreReadByTheirTriggerNameAndTotals) {
  write("callgrind.out.1", "version: 1\ndesc: Trigger: Client Request: quantize/f32\nevents: Ir\nfn=x\n1 10\ntotals: 1234\n");
  write("callgrind.out.2", "version: 1\ndesc: Trigger: Client Request: gemm\nevents: Ir\nsummary: 99\n");
  write("callgrind.out", "version: 1\ndesc: Trigger: Program termination\ntotals: 5\n");  // not a kernel
  const auto counts = read_callgrind_dumps(dir_.string());
  EXPECT_EQ(counts, (std::map<std::string, uint64_t>{{"quantize/f32", 1234}, {"gemm", 99}}));
}

TEST_F(InstructionCountFiles, ADumpWithoutTotalsOrANameDumpedTwiceIsAnError) {
  write("callgrind.out.1", "desc: Trigger: Client Request: k\nevents: Ir\n");
  EXPECT_THROW(read_callgrind_dumps(dir_.string()), std::runtime_error);
  write("callgrind.out.1", "desc: Trigger: Client Request: k\ntotals: 1\n");
  write("callgrind.out.2", "desc: Trigger: Client Request: k\ntotals: 1\n");
  EXPECT_THROW(read_callgrind_dumps(dir_.string()), std::runtime_error);
}

}  // namespace
}  // namespace smoothcheck::perf_tracking
