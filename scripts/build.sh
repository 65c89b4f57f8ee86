#!/usr/bin/env bash
# Configures (once) and builds smoothcheck with the default preset into build/.
#
# Under CI (CI=true) each test executable is one ctest test (SMOOTHCHECK_TEST_PER_EXECUTABLE): every
# process that links LibTorch spends ~0.6 s starting it, which over ~450 single-case processes is
# minutes of CI's 20. Elsewhere each gtest case is its own ctest test, for `ctest -R CASE`.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${SMOOTHCHECK_PRESET:-default}
if [[ ! -f build/${preset}/CMakeCache.txt ]]; then
  per_executable=()
  [[ ${CI:-} == true ]] && per_executable=(-DSMOOTHCHECK_TEST_PER_EXECUTABLE=ON)
  cmake --preset "$preset" "${per_executable[@]}"
fi
cmake --build --preset "$preset"
