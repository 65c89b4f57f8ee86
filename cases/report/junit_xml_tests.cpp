// The JUnit XML is well formed and counts what it should, checked by an independent XML parser
// (Python's xml.etree, which the set-up installs) on text built to break naive escaping.
#include <gtest/gtest.h>

#include <fstream>

#include "harness/report/junit_xml.h"
#include "report_test_support.h"

namespace smoothcheck::report {
namespace {

TEST(JunitXml, WellFormedWithEveryOutcomeAndHostileText) {
  ResultsDocument d;
  d.kind = "run";
  d.cases = {{"run/quantize_per_token/cpu", "t1_c1/f32/seed1", "passed", {}, {}},
             {"run/quantize_per_token/cpu", "t17_c1025/<bf16>&\"x\"", "incorrect",
              {"codes: q: 3 of 9 codes wrong; first at [0, 0]: got -117 < -116 & \x01 'quoted'"}, {}},
             {"run/gemm_w8a8/cuda", "m16", "waived", {}, "no CUDA device"},
             {"verify/stories260K/hf", "export", "kernel_error", {}, "threw: bad_alloc"}};
  const auto dir = testing::fresh_test_dir();
  std::ofstream(dir / "junit.xml") << junit_xml({d});
  const std::string check = R"(import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
cases = root.findall('./testsuite/testcase')
print(root.tag, root.get('tests'), root.get('failures'), root.get('errors'), root.get('skipped'), len(cases),
      len(root.findall('./testsuite')), len(root.findall('.//failure')), len(root.findall('.//skipped')),
      root.find('.//failure').get('message').split(';')[1].strip()))";
  const auto parsed = testing::run_command("python3 -c " + testing::shell_quote(check) + " " +
                                           testing::shell_quote((dir / "junit.xml").string()));
  ASSERT_EQ(parsed.exit_code, 0) << parsed.output;
  EXPECT_EQ(parsed.output, "testsuites 4 1 1 1 4 3 1 1 first at [0, 0]: got -117 < -116 & ? 'quoted'\n");
}

}  // namespace
}  // namespace smoothcheck::report
