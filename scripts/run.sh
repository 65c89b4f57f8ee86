#!/usr/bin/env bash
# Quick start 1: set up, build, and run the main job: every kernel family's built-in case table on the
# CPU backend beside the float64 reference. Extra arguments go to `smoothcheck run`
# (e.g. --backend all, --filter 'gemm*', --json results.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
preset=${SMOOTHCHECK_PRESET:-default}
if (($#)); then
  exec "build/${preset}/harness/smoothcheck" run "$@"
fi
exec "build/${preset}/harness/smoothcheck" run --backend cpu --json "build/${preset}/results.json" \
  --repro-dir "build/${preset}/smoothcheck-repro"
