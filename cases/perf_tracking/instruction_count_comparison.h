// The rule that judges callgrind instruction counts against the committed baseline
// (reports/baselines/callgrind_instructions.json), and the readers for both sides: callgrind's dump
// files and the baseline's JSON.
//
// Rule, per kernel (counts are deterministic for one binary and input, so any change is real; the
// tolerance only absorbs small, intended changes in code around the kernels):
//   growth > tolerance (5 %)      -> SLOWER, a regression: the comparison fails;
//   shrink > tolerance            -> FASTER: passes, and says to regenerate the baseline so that the
//                                    gain is locked in (otherwise a later 9 % loss would pass);
//   otherwise                     -> SAME;
//   in the baseline, not measured -> MISSING: fails (a kernel dropped out of tracking), unless the run
//                                    measured a subset on purpose (`subset`);
//   measured, not in the baseline -> UNTRACKED: fails, so that no kernel goes untracked silently.
// A baseline recorded with another compiler, build type or valgrind is not comparable: the caller
// refuses it (Comparability) instead of reporting meaningless differences.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace smoothcheck::perf_tracking {

enum class CountVerdict { same, faster, slower, missing, untracked };
const char* to_string(CountVerdict v);

struct CountComparison {
  std::string kernel;
  CountVerdict verdict = CountVerdict::same;
  uint64_t baseline = 0;  // 0 when untracked
  uint64_t measured = 0;  // 0 when missing
  double change = 0.0;    // measured / baseline - 1
};

struct InstructionBaseline {
  std::string compiler;    // e.g. "GNU 12.2.0"
  std::string build_type;  // e.g. "Release"
  std::string valgrind;    // e.g. "valgrind-3.19.0"
  double tolerance = 0.05;
  std::map<std::string, uint64_t> kernels;  // instructions (Ir) per call
};

struct ComparisonResult {
  std::vector<CountComparison> rows;  // in kernel-name order
  bool regression = false;            // any slower, missing or untracked row
  bool improvement = false;           // any faster row
};

ComparisonResult compare_instruction_counts(const InstructionBaseline& baseline,
                                            const std::map<std::string, uint64_t>& measured, bool subset);

// The table and the verdict line, with what to do about each outcome.
std::string format_comparison(const ComparisonResult& result, double tolerance, const std::string& update_command);

// Reads every callgrind dump in `dir` that a CALLGRIND_DUMP_STATS_AT(name) request wrote (its
// "desc: Trigger: Client Request: <name>" line) and returns name -> total Ir. Throws std::runtime_error
// naming the file on a dump without a totals line or a name dumped twice.
std::map<std::string, uint64_t> read_callgrind_dumps(const std::string& dir);

// Throws std::runtime_error naming the file and the problem (missing field, wrong schema, negative count).
InstructionBaseline read_instruction_baseline(const std::string& path);
// Written atomically (temporary file + rename).
void write_instruction_baseline(const std::string& path, const InstructionBaseline& baseline);

}  // namespace smoothcheck::perf_tracking
