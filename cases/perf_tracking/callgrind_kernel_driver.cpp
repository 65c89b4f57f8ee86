// callgrind_kernel_driver: instruction-count tracking of the CPU kernels (issue 6). Three commands:
//
//   measure [--only NAME] [--slow-down NAME]
//       Runs every tracked kernel once (tracked_kernels.h). Under
//       `valgrind --tool=callgrind --collect-atstart=no` each call is bracketed by
//       CALLGRIND_TOGGLE_COLLECT and written to its own dump with CALLGRIND_DUMP_STATS_AT(name), so a
//       dump holds that kernel's instructions and nothing else. Outside valgrind the requests are no-ops.
//       --slow-down NAME runs that kernel twice inside its measured interval: the deliberately slowed
//       variant with which the tracking test proves that it can fail.
//   compare --baseline FILE --dumps DIR [--subset] [--expect-slower NAME]
//       Applies instruction_count_comparison.h's rule. Exit 0: pass; 1: regression; 2: bad input, or a
//       baseline from another compiler/build type/valgrind (not comparable: refused with the reason).
//       --expect-slower NAME inverts the verdict for the can-it-fail test: exit 0 only when NAME, and
//       nothing else, is SLOWER.
//   update --baseline FILE --dumps DIR --valgrind VERSION
//       Writes the measured counts as the new baseline (atomically), with this build's compiler.
//
// cases/perf_tracking/callgrind_tracking.sh runs valgrind and these commands; see its header.
#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cases/perf_tracking/instruction_count_comparison.h"
#include "cases/perf_tracking/tracked_kernels.h"
#include "kernels/cpu/cpu_backend.h"

namespace {

using namespace smoothcheck::perf_tracking;

constexpr int kExitRegression = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitNoAvx2 = 77;  // ctest's SKIP_RETURN_CODE: reported as skipped, with the reason printed

const std::string kCompiler = SMOOTHCHECK_COMPILER;      // "GNU 12.2.0", from CMake
const std::string kBuildType = SMOOTHCHECK_BUILD_TYPE;  // "Release"

struct Args {
  std::string command, only, slow_down, baseline, dumps, expect_slower, valgrind;
  bool subset = false;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw std::invalid_argument("usage: callgrind_kernel_driver measure|compare|update|list [options]");
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--only") a.only = value();
    else if (flag == "--slow-down") a.slow_down = value();
    else if (flag == "--baseline") a.baseline = value();
    else if (flag == "--dumps") a.dumps = value();
    else if (flag == "--expect-slower") a.expect_slower = value();
    else if (flag == "--valgrind") a.valgrind = value();
    else if (flag == "--subset") a.subset = true;
    else throw std::invalid_argument("unknown option " + flag);
  }
  return a;
}

int measure(const Args& a) {
  if (!smoothcheck::kernels::cpu_supports_avx2()) {
    std::printf("SKIPPED: this CPU has no AVX2/FMA/F16C, and the tracked counts are of the AVX2 path\n");
    return kExitNoAvx2;
  }
  TrackedKernelSet set;
  bool found_only = a.only.empty(), found_slow = a.slow_down.empty();
  for (const TrackedKernel& k : set.kernels()) {
    found_slow |= k.name == a.slow_down;
    if (!a.only.empty() && k.name != a.only) continue;
    found_only = true;
    CALLGRIND_TOGGLE_COLLECT;
    k.run();
    if (k.name == a.slow_down) k.run();
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(k.name.c_str());
  }
  if (!found_only) throw std::invalid_argument("--only " + a.only + ": no tracked kernel has that name (see list)");
  if (!found_slow) throw std::invalid_argument("--slow-down " + a.slow_down + ": no tracked kernel has that name");
  std::printf("measured %s\n", a.only.empty() ? "every tracked kernel" : a.only.c_str());
  return 0;
}

void require_comparable(const InstructionBaseline& b, const Args& a) {
  std::string why;
  if (b.compiler != kCompiler) why += " compiler " + b.compiler + " (this build: " + kCompiler + ");";
  if (b.build_type != kBuildType) why += " build type " + b.build_type + " (this build: " + kBuildType + ");";
  if (!a.valgrind.empty() && b.valgrind != a.valgrind) why += " " + b.valgrind + " (here: " + a.valgrind + ");";
  if (!why.empty())
    throw std::invalid_argument(a.baseline + ": recorded with" + why +
                                " instruction counts are only comparable for the same toolchain");
}

int compare(const Args& a) {
  const InstructionBaseline base = read_instruction_baseline(a.baseline);
  require_comparable(base, a);
  const auto measured = read_callgrind_dumps(a.dumps);
  if (measured.empty()) throw std::invalid_argument(a.dumps + ": no callgrind dump of a tracked kernel");
  const ComparisonResult result = compare_instruction_counts(base, measured, a.subset || !a.expect_slower.empty());
  const std::string update = "cases/perf_tracking/callgrind_tracking.sh --update <build dir>";
  std::fputs(format_comparison(result, base.tolerance, update).c_str(), stdout);
  if (a.expect_slower.empty()) return result.regression ? kExitRegression : 0;

  // The slowed-variant check: the slowed kernel must be caught, and nothing else may be flagged.
  bool caught = false, other = false;
  for (const auto& row : result.rows) {
    if (row.kernel == a.expect_slower) caught = row.verdict == CountVerdict::slower;
    else other |= row.verdict == CountVerdict::slower || row.verdict == CountVerdict::untracked;
  }
  std::printf("%s: the deliberately slowed %s was %s\n", caught && !other ? "PASS" : "FAIL", a.expect_slower.c_str(),
              caught ? "reported SLOWER" : "NOT reported SLOWER");
  return caught && !other ? 0 : kExitRegression;
}

int update(const Args& a) {
  if (a.valgrind.empty()) throw std::invalid_argument("update needs --valgrind VERSION (valgrind --version)");
  InstructionBaseline b;
  b.compiler = kCompiler;
  b.build_type = kBuildType;
  b.valgrind = a.valgrind;
  b.kernels = read_callgrind_dumps(a.dumps);
  if (b.kernels.empty()) throw std::invalid_argument(a.dumps + ": no callgrind dump of a tracked kernel");
  write_instruction_baseline(a.baseline, b);
  std::printf("wrote %s: %zu kernels (%s, %s, %s)\n", a.baseline.c_str(), b.kernels.size(), b.compiler.c_str(),
              b.build_type.c_str(), b.valgrind.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (a.command == "measure") return measure(a);
    if (a.command == "compare") return compare(a);
    if (a.command == "update") return update(a);
    if (a.command == "list") {
      TrackedKernelSet set;
      for (const auto& k : set.kernels()) std::printf("%s\n", k.name.c_str());
      return 0;
    }
    throw std::invalid_argument("unknown command '" + a.command + "' (measure, compare, update, list)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "callgrind_kernel_driver: %s\n", e.what());
    return kExitBadInput;
  }
}
