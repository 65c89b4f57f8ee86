#!/usr/bin/env bash
# Quick start 2 (and CI): set up, build, and run the whole ctest suite. Extra arguments go to ctest
# (e.g. -L cpu, -R mutant).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
preset=${SMOOTHCHECK_PRESET:-default}
ctest --preset "$preset" "$@"

# Robustness (README "Robustness"), on a plain `scripts/test.sh` (CI) only: ThreadSanitizer on the
# threaded kernels; the fuzz configuration's ASan/UBSan replay of the corpus and hostile checkpoints,
# then every fuzz target for FUZZ_SECONDS. The full ASan preset over the cpu, property and checkpoint
# labels (scripts/sanitize.sh asan) builds the whole project instrumented, longer than CI's budget
# allows: SMOOTHCHECK_CI_ASAN=1 adds it.
if (($# == 0)) && [[ ${SMOOTHCHECK_ROBUSTNESS:-1} != 0 ]]; then
  step() {
    local start=$SECONDS
    "$@"
    echo "test.sh: $* took $((SECONDS - start)) s"
  }
  export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
  step scripts/sanitize.sh tsan
  step scripts/fuzz.sh run
  if [[ ${SMOOTHCHECK_CI_ASAN:-0} == 1 ]]; then step scripts/sanitize.sh asan; fi
fi
