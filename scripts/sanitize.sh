#!/usr/bin/env bash
# Sanitizer runs (README "Robustness"). CI (scripts/test.sh) runs tsan; asan only with
# SMOOTHCHECK_CI_ASAN=1, since building the three labels instrumented does not fit its 20 minutes.
#
#   scripts/sanitize.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): builds the
#                              test executables of labels cpu, property and checkpoint with the asan preset
#                              into build/asan and runs those labels (ctest --preset asan)
#   scripts/sanitize.sh tsan   ThreadSanitizer on the threaded CPU kernels (build/tsan, label tsan)
#   scripts/sanitize.sh        both
#
# What differs from the ordinary run, and why:
#   - rapidcheck runs 100 cases per property instead of 1000 (SMOOTHCHECK_PROPERTY_MAX_SUCCESS in the
#     preset): instrumented code is several times slower, and memory errors show on the code paths,
#     which 100 cases reach; the full count runs in the ordinary build.
#   - LeakSanitizer ignores allocations made inside LibTorch (scripts/lsan_suppressions.txt): the
#     system library is not instrumented and its unpickler leaks on rejected archives.
#   - UBSan is fatal (-fno-sanitize-recover=all): a report fails the test instead of scrolling past.
#   - the callgrind instruction-count tests (label cpu) are left out: valgrind cannot run ASan binaries,
#     and instrumented code has other counts than the tracked baseline; so are the chromium report
#     renders (plain add_test scripts around a browser, not built by the tests_<label> targets).
#   Extra arguments go to ctest (e.g. -R Hostile).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SANITIZE_JOBS:-2}

configure() {
  [[ -f build/$1/CMakeCache.txt ]] || cmake --preset "$1" >/dev/null
}

run_asan() {
  configure asan
  local start=$SECONDS
  cmake --build build/asan -j "$jobs" --target tests_cpu tests_property tests_checkpoint >/dev/null
  echo "sanitize: asan build $((SECONDS - start)) s"
  start=$SECONDS
  ctest --preset asan "$@"
  echo "sanitize: asan tests $((SECONDS - start)) s"
}

run_tsan() {
  configure tsan
  local start=$SECONDS
  cmake --build build/tsan -j "$jobs" --target tests_tsan >/dev/null
  ctest --preset tsan "$@"
  echo "sanitize: tsan build and tests $((SECONDS - start)) s"
}

case ${1:-all} in
  asan) shift; run_asan "$@" ;;
  tsan) shift; run_tsan "$@" ;;
  all) shift || true; run_tsan "$@"; run_asan "$@" ;;
  *) echo "usage: scripts/sanitize.sh [asan | tsan | all] [ctest arguments]" >&2; exit 2 ;;
esac
