#!/usr/bin/env bash
# Quick start 2 (and CI): set up, build, and run the whole ctest suite. Extra arguments go to ctest
# (e.g. -L cpu, -R mutant).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
preset=${SMOOTHCHECK_PRESET:-default}
ctest --preset "$preset" "$@"
