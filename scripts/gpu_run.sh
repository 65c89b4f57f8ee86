#!/usr/bin/env bash
# The CUDA checks, on a lent GPU machine (H100/H200: nvcc and a CUDA-enabled PyTorch, no network, none
# of Debian's -dev packages). Not runnable where there is no GPU.
#
#   1. here (with network):   scripts/fetch_gpu_deps.sh        fills .deps/src (ignored by git)
#      and, to spare device time, scripts/gpu_run.sh deps here too: the static libraries it installs
#      into .deps/prefix are built with LibTorch's C++ ABI and are skipped there once installed.
#   2. on the GPU machine, from the repository root, carrying .deps:
#        scripts/gpu_run.sh deps       build GoogleTest, rapidcheck, Google Benchmark, nlohmann_json
#                                      from .deps/src into .deps/prefix (each one not yet installed)
#        scripts/gpu_run.sh build      configure build-gpu (sm_90 only, benchmarks on) and build the
#                                      targets the later phases run (GPU_BUILD_TARGETS), not the whole tree
#        scripts/gpu_run.sh fingerprint  the device code's cubins against reports/cuda_device_fingerprints.txt
#        scripts/gpu_run.sh test       ctest -L cuda, the launch-plan tests, the properties on cuda backends
#        scripts/gpu_run.sh sanitize   compute-sanitizer memcheck and racecheck on the CUDA test binaries
#        scripts/gpu_run.sh bench      the CUDA benchmark executable, JSON out
#        scripts/gpu_run.sh all        the phases in this order (default); several phases may be named
#      A lease is short (15 device minutes, a start included), so `all` is meant as the one call; every
#      step has its own time limit (STEP_TIMEOUT, SANITIZER_TIMEOUT) so that a hung step cannot eat it.
#
# Everything is logged under $OUT (the device tool's output folder; ./gpu-out when unset): one log
# per phase, ctest's gtest XML, sanitizer reports, benchmark JSON, nvidia-smi and versions. The script
# carries on after a failing phase step and exits non-zero if any step failed.
#
# Environment: JOBS (default: nproc), CUDA_ARCHS (default 90), SANITIZER_GTEST_FILTER (a gtest filter
# for the sanitizer runs, default: all tests; racecheck is slow), BENCH_MIN_TIME (default 0.2, seconds),
# STEP_TIMEOUT (seconds per step, default 600), DEADLINE (seconds after the start past which no further
# step starts; each is reported NOT RUN, and the run fails), SANITIZER_TIMEOUT (seconds per sanitizer run, default
# 180), GPU_BUILD_TARGETS (default: the cuda-labelled tests, the launch-plan and property tests, the
# CUDA benchmarks).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
self="$root/scripts/gpu_run.sh"
OUT="${OUT:-$root/gpu-out}"
mkdir -p "$OUT"
JOBS="${JOBS:-$(nproc)}"
CUDA_ARCHS="${CUDA_ARCHS:-90}"
deps_src="$root/.deps/src"
prefix="$root/.deps/prefix"
build="$root/build-gpu"
status=0
export PATH="/usr/local/cuda/bin:$PATH"

STEP_TIMEOUT="${STEP_TIMEOUT:-600}"
if [[ -n ${DEADLINE:-} && -z ${GPU_RUN_DEADLINE:-} ]]; then
  export GPU_RUN_DEADLINE=$(( $(date +%s) + DEADLINE ))
fi
step() {  # step <log name> <command...>: runs (within STEP_TIMEOUT), logs, records failure, never stops the script
  local name="$1"; shift
  local started=$SECONDS rc=0
  echo "== $name: $*" | tee -a "$OUT/steps.log"
  if [[ -n ${GPU_RUN_DEADLINE:-} && $(date +%s) -ge $GPU_RUN_DEADLINE ]]; then
    echo "   NOT RUN: the run's deadline (DEADLINE=${DEADLINE}s) had passed" | tee -a "$OUT/steps.log"
    status=1
    return
  fi
  local command=("$@")
  # timeout runs programs, not shell functions: a function of this script runs as `gpu_run.sh call f ...`.
  declare -F "$1" > /dev/null && command=("$self" call "$@")
  timeout --kill-after=10 "$STEP_TIMEOUT" "${command[@]}" >> "$OUT/$name.log" 2>&1 || rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "   ok ($((SECONDS - started)) s)" | tee -a "$OUT/steps.log"
  else
    [[ $rc -eq 124 || $rc -eq 137 ]] && echo "   (timed out after ${STEP_TIMEOUT} s)" | tee -a "$OUT/steps.log"
    echo "   FAILED ($rc, $((SECONDS - started)) s) - see $name.log" | tee -a "$OUT/steps.log"
    status=1
  fi
}

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

# LibTorch's C++ ABI; the dependencies are built with the same one so gtest's std::string matches.
# Asked once and exported: the script runs itself again for each step (step, below).
if [[ -z ${GPU_RUN_TORCH_ABI:-} ]]; then
  GPU_RUN_TORCH_PREFIX="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
  GPU_RUN_TORCH_ABI="$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)"
  export GPU_RUN_TORCH_PREFIX GPU_RUN_TORCH_ABI
fi
torch_prefix="$GPU_RUN_TORCH_PREFIX"
torch_abi="$GPU_RUN_TORCH_ABI"
abi_flag="-D_GLIBCXX_USE_CXX11_ABI=$torch_abi"

phase_info() {
  { nvidia-smi; nvcc --version; c++ --version; cmake --version; compute-sanitizer --version; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)';
    echo "torch cmake prefix: $torch_prefix, CXX11 ABI: $torch_abi"; git -C "$root" rev-parse HEAD; git -C "$root" status --short; } \
    > "$OUT/machine.log" 2>&1 || true
}

dep() {  # dep <dir under .deps/src> <cmake options...>; a dependency installed before (marker) is kept
  local name="$1"; shift
  local marker="$prefix/.installed-$name-abi$torch_abi"
  [[ -f "$marker" ]] && { echo "$name: already installed in $prefix ($(cat "$marker"))"; return 0; }
  [[ -f "$deps_src/$name/CMakeLists.txt" ]] || { echo "missing $deps_src/$name: run scripts/fetch_gpu_deps.sh"; return 1; }
  # CMAKE_POLICY_VERSION_MINIMUM: CMake 4 (pip's, on the GPU image) refuses the old minimum versions
  # some of these trees declare; CMake 3 ignores the variable.
  cmake -S "$deps_src/$name" -B "$root/.deps/build/$name" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DCMAKE_CXX_FLAGS="$abi_flag" "$@" &&
    cmake --build "$root/.deps/build/$name" -j "$JOBS" && cmake --install "$root/.deps/build/$name" &&
    echo "built by $(c++ --version | head -n1)" > "$marker"
}

phase_deps() {
  step deps-googletest dep googletest -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON
  step deps-rapidcheck dep rapidcheck -DRC_ENABLE_GTEST=ON -DRC_ENABLE_TESTS=OFF -DRC_ENABLE_EXAMPLES=OFF
  step deps-benchmark dep benchmark -DBENCHMARK_ENABLE_TESTING=OFF -DBENCHMARK_ENABLE_GTEST_TESTS=OFF \
    -DBENCHMARK_ENABLE_WERROR=OFF -DBENCHMARK_INSTALL_DOCS=OFF
  step deps-nlohmann_json dep nlohmann_json -DJSON_BuildTests=OFF -DJSON_Install=ON
}

# --allow-shlib-undefined: pip's LibTorch needs libraries of other pip packages (nvshmem, cuSPARSELt,
# cuFile) that its RUNPATH finds when a test runs; the linker need not resolve them at link time.
# What the later phases run; the rest of the tree (CLI, pipeline, fuzzers, CPU benchmarks) is the CPU
# machine's business and would only spend the lease compiling.
read -r -a build_targets <<< "${GPU_BUILD_TARGETS:-tests_cuda cuda_launch_plan_tests property_kernel_tests cuda_kernel_benchmarks}"

phase_build() {
  step configure cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix;$torch_prefix" -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS" \
    -DSMOOTHCHECK_BUILD_BENCHMARKS=ON -DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined
  step build cmake --build "$build" -j "$JOBS" --target "${build_targets[@]}"
}

# The cubins this nvcc makes of kernels/cuda/*.cu, against the committed fingerprints that the CPU
# emulation's runs stand for (a difference means another nvcc build, or changed device code).
phase_fingerprint() {
  step fingerprint bash "$root/scripts/cuda_device_fingerprint.sh"
}

# A skipped test is not a pass: on a GPU machine nothing labelled cuda may skip, so each ctest step
# fails when its summary counts a skip (the device-less skip check is the one test that must not run
# a device; it passes by seeing the skip itself).
ctest_no_skips() {  # ctest_no_skips <ctest arguments...>
  local log
  log="$(mktemp)"
  ctest --test-dir "$build" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if grep -Eq '^[[:space:]]*[0-9]+ - .*\(Skipped\)|Not Run' "$log"; then
    echo "gpu_run: tests were skipped or not run on the GPU machine (above)"; rc=1
  fi
  rm -f "$log"
  return "$rc"
}

phase_test() {
  step ctest-cuda ctest_no_skips -L cuda -j 1
  step ctest-launch-plan ctest_no_skips -R '^(SplitRow|RowLaunch|RmsLaunch|GemmPlan|MmaFragments|GemmEmulation|CublasLt|WeightGroups)\.'
  # The rapidcheck properties on the two CUDA backends (ctest's pinned seed and case count).
  step ctest-properties-cuda ctest_no_skips -L property -R '/cuda(_cublaslt)?( |$)' -j 4
  mkdir -p "$OUT/test-results" && cp -r "$build/test-results/." "$OUT/test-results/" 2>/dev/null || true
}

# The test executables behind the cuda-labelled tests, from ctest's own description of them (not cmake,
# which runs the device-less skip check).
cuda_test_executables() {
  ctest --test-dir "$build" -L cuda --show-only=json-v1 2>/dev/null | python3 -c '
import json, sys
text = sys.stdin.read()  # CMake 4 ctest may print "Internal ctest changing into directory" first
seen = []
for t in json.loads(text[text.find("{"):]).get("tests", []):
    cmd = t.get("command") or []
    # CMake 3 runs a discovered test as the executable itself; CMake 4 as cmake -P LaunchTest.cmake
    # with -D TEST_EXECUTABLE=<the executable>.
    exes = [a.split("=", 1)[1] for a in cmd if a.startswith("TEST_EXECUTABLE=")] or cmd[:1]
    for exe in exes:
        if exe.startswith(sys.argv[1] + "/") and exe not in seen:
            seen.append(exe)
print("\n".join(seen))' "$build"
}

phase_sanitize() {
  local filter=()
  [[ -n "${SANITIZER_GTEST_FILTER:-}" ]] && filter=(--gtest_filter="$SANITIZER_GTEST_FILTER")
  local exes
  exes="$(cuda_test_executables)"
  [[ -n "$exes" ]] || { echo "no cuda-labelled test executables" | tee -a "$OUT/steps.log"; status=1; return; }
  # memcheck on every executable first, racecheck (the slower) after: a deadline cuts the least useful.
  local tool exe name
  for tool in memcheck racecheck; do
    for exe in $exes; do
      name="$(basename "$exe")"
      local tool_args=(--tool "$tool")
      [[ $tool == memcheck ]] && tool_args+=(--leak-check full)
      [[ $tool == racecheck ]] && tool_args+=(--racecheck-report all)
      STEP_TIMEOUT="${SANITIZER_TIMEOUT:-180}" step "$tool-$name" \
        compute-sanitizer "${tool_args[@]}" --error-exitcode 99 "$exe" "${filter[@]}"
    done
  done
}

phase_bench() {
  local found=0
  while IFS= read -r exe; do
    found=1
    local name
    name="$(basename "$exe")"
    step "bench-$name" "$exe" --no_device_exit_code=77 --benchmark_out="$OUT/bench-$name.json" --benchmark_out_format=json \
      --benchmark_min_time="${BENCH_MIN_TIME:-0.2}"
  done < <(find "$build" -type f -perm -u+x -name 'cuda_*benchmarks' -path '*cases*' | sort)
  [[ $found -eq 1 ]] || echo "no benchmark executables under $build/cases" | tee -a "$OUT/steps.log"
}

phase="${1:-all}"
if [[ $phase == call ]]; then  # step's way to run one of this script's functions under timeout
  shift
  "$@"
  exit $?
fi
phase_info
[[ $# -gt 0 ]] || set -- all
for phase in "$@"; do
  case "$phase" in
    deps) phase_deps ;;
    build) phase_build ;;
    fingerprint) phase_fingerprint ;;
    test) phase_test ;;
    sanitize) phase_sanitize ;;
    bench) phase_bench ;;
    all) phase_deps; phase_build; phase_fingerprint; phase_test; phase_bench; phase_sanitize ;;
    *) echo "usage: $0 [deps|build|fingerprint|test|sanitize|bench|all]..."; exit 2 ;;
  esac
done
echo "gpu_run: phases $* finished with status $status; logs in $OUT" | tee -a "$OUT/steps.log"
exit $status
