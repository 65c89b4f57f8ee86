#!/usr/bin/env bash
# Quick start 2 (and CI): set up, build, and run the whole ctest suite. Extra arguments go to ctest
# (e.g. -L cpu, -R mutant).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
preset=${SMOOTHCHECK_PRESET:-default}
rm -rf "build/$preset/test-results"
ctest --preset "$preset" "$@"
if [[ -f build/$preset/CMakeCache.txt ]] && grep -q '^SMOOTHCHECK_TEST_PER_EXECUTABLE:BOOL=ON' "build/$preset/CMakeCache.txt"; then
  python3 scripts/gtest_summary.py "build/$preset/test-results" test.sh  # each executable's skips, with reasons
fi

# Robustness (README "Robustness"), on a plain `scripts/test.sh` (CI) only: ThreadSanitizer on the
# threaded kernels; the asan preset (clang ASan + UBSan + LSan) over the cpu, property, checkpoint and
# fuzz labels; then every fuzz target for FUZZ_SECONDS on its corpus.
if (($# == 0)) && [[ ${SMOOTHCHECK_ROBUSTNESS:-1} != 0 ]]; then
  step() {
    local start=$SECONDS
    "$@"
    echo "test.sh: $* took $((SECONDS - start)) s"
  }
  export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
  step scripts/sanitize.sh tsan
  step scripts/sanitize.sh asan
  step scripts/fuzz.sh fuzz
fi
