#!/usr/bin/env bash
# Instruction-count tracking of the CPU kernels under callgrind (issue 6). Runs
# callgrind_kernel_driver under `valgrind --tool=callgrind`, one dump per kernel, and compares the
# counts with reports/baselines/callgrind_instructions.json: growth beyond the baseline's tolerance
# (5 %) fails; a shrink beyond it passes and asks for a new baseline.
#
#   cases/perf_tracking/callgrind_tracking.sh BUILD_DIR                   compare (what ctest runs)
#   cases/perf_tracking/callgrind_tracking.sh --update BUILD_DIR          regenerate the baseline
#   cases/perf_tracking/callgrind_tracking.sh --slow-down KERNEL BUILD_DIR
#       measure KERNEL run twice (a deliberately slowed variant); passes only if the comparison
#       reports exactly that kernel SLOWER (the test that proves the tracking can fail)
#
# BUILD_DIR is a Release build (the baseline records compiler and build type, and a mismatch is
# refused). SMOOTHCHECK_CALLGRIND_BASELINE=FILE compares with (or --update writes) another baseline.
# Exit codes: 0 pass, 1 regression, 2 bad input or toolchain mismatch, 77 cannot run here (no
# valgrind, no AVX2: printed as the reason; ctest reports it as skipped).
set -euo pipefail

mode=compare slow=""
while (($#)); do
  case "$1" in
    --update) mode=update; shift ;;
    --slow-down) mode=slowed; slow="${2:?--slow-down needs a kernel name}"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
build_dir="${1:?usage: callgrind_tracking.sh [--update | --slow-down KERNEL] BUILD_DIR}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
baseline="${SMOOTHCHECK_CALLGRIND_BASELINE:-$repo/reports/baselines/callgrind_instructions.json}"
driver="$build_dir/cases/perf_tracking/callgrind_kernel_driver"
[[ -x "$driver" ]] || { echo "callgrind_tracking: $driver not built (ninja -C $build_dir callgrind_kernel_driver)" >&2; exit 2; }
if ! command -v valgrind >/dev/null; then
  echo "SKIPPED: valgrind is not installed (scripts/setup.sh installs it)"
  exit 77
fi
vg_version="$(valgrind --version)"

dumps="$build_dir/callgrind-tracking/$mode"
rm -rf "$dumps"
mkdir -p "$dumps"
measure=("$driver" measure)
[[ $mode == slowed ]] && measure+=(--only "$slow" --slow-down "$slow")
# --collect-atstart=no: only the intervals the driver toggles on (the kernel calls) are counted.
set +e
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$dumps/callgrind.out" \
  --log-file="$dumps/valgrind.log" "${measure[@]}"
rc=$?
set -e
if ((rc == 77)); then exit 77; fi
if ((rc != 0)); then
  echo "callgrind_tracking: the driver failed under valgrind (exit $rc); log: $dumps/valgrind.log" >&2
  tail -n 20 "$dumps/valgrind.log" >&2
  exit 2
fi

case "$mode" in
  update) exec "$driver" update --baseline "$baseline" --dumps "$dumps" --valgrind "$vg_version" ;;
  slowed) exec "$driver" compare --baseline "$baseline" --dumps "$dumps" --valgrind "$vg_version" --expect-slower "$slow" ;;
  *) exec "$driver" compare --baseline "$baseline" --dumps "$dumps" --valgrind "$vg_version" ;;
esac
