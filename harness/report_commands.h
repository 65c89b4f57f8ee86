// The reporting commands: `smoothcheck report` (summary.md, index.html and JUnit XML from results
// documents, regressions against a baseline) and `smoothcheck perf` (compare and record Google
// Benchmark runs). Each returns the process exit code; bad arguments throw std::invalid_argument.
#pragma once

namespace smoothcheck {

int command_report(int argc, char** argv);
int command_perf(int argc, char** argv);

}  // namespace smoothcheck
