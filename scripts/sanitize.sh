#!/usr/bin/env bash
# Sanitizer runs (README "Robustness"); CI (scripts/test.sh) runs both.
#
#   scripts/sanitize.sh asan   clang AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer):
#                              builds the test executables of labels cpu, property, checkpoint and fuzz
#                              (the corpus replay and hostile checkpoints against the fuzzers' parsers)
#                              with the asan preset into build/asan, and runs them with the label asan
#                              canaries, which prove each sanitizer reports (ctest --preset asan)
#   scripts/sanitize.sh tsan   ThreadSanitizer on the threaded CPU kernels (build/tsan, label tsan)
#   scripts/sanitize.sh        both
#
# What differs from the ordinary run, and why:
#   - each test executable is one ctest test (SMOOTHCHECK_TEST_PER_EXECUTABLE): a process that links
#     LibTorch takes ~1.7 s to start under ASan, which per gtest case would be most of the run. The
#     summary after the run lists every executable's cases, failures and skips with their reasons
#     (scripts/gtest_summary.py, from the gtest XML).
#   - rapidcheck runs 100 cases per property instead of 1000 (SMOOTHCHECK_PROPERTY_MAX_SUCCESS), and the
#     differential tables waive their production-size rows (SMOOTHCHECK_MAX_CASE_WORK, with that reason):
#     instrumented code is several times slower, and the small and tail shapes reach every code path;
#     the ordinary build runs the full counts and sizes.
#   - LeakSanitizer ignores allocations made inside LibTorch (scripts/lsan_suppressions.txt): the
#     system library is not instrumented and its unpickler leaks on rejected archives.
#   - the test executables' own code is compiled at -O0 (the libraries under test at the preset's -O1):
#     clang with ASan took twice as long on the large test units at -O1 (CMakeLists.txt,
#     SMOOTHCHECK_TEST_CODE_AT_O0).
#   - UBSan is fatal (-fno-sanitize-recover=all): a report fails the test instead of scrolling past.
#   - allocator_may_return_null=1: a hostile size makes an allocation throw std::bad_alloc, as in the
#     ordinary build, instead of ASan aborting; the tests then check the error smoothcheck reports.
#   - the callgrind instruction-count tests (label cpu) are left out: valgrind cannot run ASan binaries,
#     and instrumented code has other counts than the tracked baseline; so are the report renders and
#     CI artifacts (a browser and the Release CLI; the report code's own tests run here).
#   Extra arguments go to ctest (e.g. -R checkpoint_cases).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SANITIZE_JOBS:-2}

configure() {
  [[ -f build/$1/CMakeCache.txt ]] || cmake --preset "$1" >/dev/null
}

run_asan() {
  configure asan
  local start=$SECONDS
  # Quiet when it succeeds; a failed build shows its errors (ninja prints them on standard output).
  cmake --build build/asan -j "$jobs" --target tests_cpu tests_property tests_checkpoint tests_fuzz tests_asan \
    >build/asan/build.log 2>&1 || { grep -B2 -A12 -E "error|FAILED" build/asan/build.log | head -80; exit 1; }
  echo "sanitize: asan build $((SECONDS - start)) s"
  start=$SECONDS
  rm -rf build/asan/test-results
  ctest --preset asan "$@"
  echo "sanitize: asan tests $((SECONDS - start)) s"
  python3 scripts/gtest_summary.py build/asan/test-results sanitize
}

run_tsan() {
  configure tsan
  local start=$SECONDS
  cmake --build build/tsan -j "$jobs" --target tests_tsan >build/tsan/build.log 2>&1 ||
    { grep -B2 -A12 -E "error|FAILED" build/tsan/build.log | head -80; exit 1; }
  ctest --preset tsan "$@"
  echo "sanitize: tsan build and tests $((SECONDS - start)) s"
}

case ${1:-all} in
  asan) shift; run_asan "$@" ;;
  tsan) shift; run_tsan "$@" ;;
  all) shift || true; run_tsan "$@"; run_asan "$@" ;;
  *) echo "usage: scripts/sanitize.sh [asan | tsan | all] [ctest arguments]" >&2; exit 2 ;;
esac
