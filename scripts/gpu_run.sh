#!/usr/bin/env bash
# The CUDA checks, on a lent GPU machine (H100: nvcc and a CUDA-enabled PyTorch, no network, none of
# Debian's -dev packages). Not runnable where there is no GPU.
#
#   1. here (with network):   scripts/fetch_gpu_deps.sh        fills .deps/src (ignored by git)
#   2. on the GPU machine, from the repository root, carrying .deps:
#        scripts/gpu_run.sh deps       build GoogleTest, rapidcheck, Google Benchmark, nlohmann_json
#                                      from .deps/src into .deps/prefix
#        scripts/gpu_run.sh build      configure build-gpu (sm_90 only, benchmarks on) and build
#        scripts/gpu_run.sh test       ctest -L cuda (and the cpu-labelled launch-plan test)
#        scripts/gpu_run.sh sanitize   compute-sanitizer memcheck and racecheck on the CUDA test binaries
#        scripts/gpu_run.sh bench      every benchmark executable, JSON out
#        scripts/gpu_run.sh all        the five in order (default)
#      The device tool limits one command to 10 minutes and keeps ignored build outputs between calls
#      on a warm machine, so run the phases as separate calls there: deps and build are the slow ones.
#
# Everything is logged under $OUT (the device tool's output folder; ./gpu-out when unset): one log
# per phase, ctest's gtest XML, sanitizer reports, benchmark JSON, nvidia-smi and versions. The script
# carries on after a failing phase step and exits non-zero if any step failed.
#
# Environment: JOBS (default: nproc), CUDA_ARCHS (default 90), SANITIZER_GTEST_FILTER (a gtest filter
# for the sanitizer runs, default: all tests; racecheck is slow), BENCH_MIN_TIME (default 0.2, seconds).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
OUT="${OUT:-$root/gpu-out}"
mkdir -p "$OUT"
JOBS="${JOBS:-$(nproc)}"
CUDA_ARCHS="${CUDA_ARCHS:-90}"
deps_src="$root/.deps/src"
prefix="$root/.deps/prefix"
build="$root/build-gpu"
status=0
export PATH="/usr/local/cuda/bin:$PATH"

step() {  # step <log name> <command...>: runs, logs, records failure, never stops the script
  local name="$1"; shift
  echo "== $name: $*" | tee -a "$OUT/steps.log"
  if "$@" >> "$OUT/$name.log" 2>&1; then
    echo "   ok" | tee -a "$OUT/steps.log"
  else
    echo "   FAILED ($?) - see $name.log" | tee -a "$OUT/steps.log"
    status=1
  fi
}

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

# LibTorch's C++ ABI; the dependencies are built with the same one so gtest's std::string matches.
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
torch_abi="$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)"
abi_flag="-D_GLIBCXX_USE_CXX11_ABI=$torch_abi"

phase_info() {
  { nvidia-smi; nvcc --version; cmake --version; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)';
    echo "torch cmake prefix: $torch_prefix, CXX11 ABI: $torch_abi"; git -C "$root" rev-parse HEAD; git -C "$root" status --short; } \
    > "$OUT/machine.log" 2>&1 || true
}

dep() {  # dep <dir under .deps/src> <cmake options...>
  local name="$1"; shift
  [[ -f "$deps_src/$name/CMakeLists.txt" ]] || { echo "missing $deps_src/$name: run scripts/fetch_gpu_deps.sh"; return 1; }
  cmake -S "$deps_src/$name" -B "$root/.deps/build/$name" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DCMAKE_CXX_FLAGS="$abi_flag" "$@" &&
    cmake --build "$root/.deps/build/$name" -j "$JOBS" && cmake --install "$root/.deps/build/$name"
}

phase_deps() {
  step deps-googletest dep googletest -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON
  step deps-rapidcheck dep rapidcheck -DRC_ENABLE_GTEST=ON -DRC_ENABLE_TESTS=OFF -DRC_ENABLE_EXAMPLES=OFF
  step deps-benchmark dep benchmark -DBENCHMARK_ENABLE_TESTING=OFF -DBENCHMARK_ENABLE_GTEST_TESTS=OFF \
    -DBENCHMARK_ENABLE_WERROR=OFF -DBENCHMARK_INSTALL_DOCS=OFF
  step deps-nlohmann_json dep nlohmann_json -DJSON_BuildTests=OFF -DJSON_Install=ON
}

phase_build() {
  step configure cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix;$torch_prefix" -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS" \
    -DSMOOTHCHECK_BUILD_BENCHMARKS=ON
  step build cmake --build "$build" -j "$JOBS"
}

phase_test() {
  step ctest-cuda ctest --test-dir "$build" -L cuda --output-on-failure --no-tests=error -j 1
  step ctest-launch-plan ctest --test-dir "$build" -R '^(SplitRow|RowLaunch|RmsLaunch|GemmPlan|MmaFragments|GemmEmulation|CublasLt|WeightGroups)\.' --output-on-failure
  mkdir -p "$OUT/test-results" && cp -r "$build/test-results/." "$OUT/test-results/" 2>/dev/null || true
}

# The executables behind the cuda-labelled tests, from ctest's own description of them.
cuda_test_executables() {
  ctest --test-dir "$build" -L cuda --show-only=json-v1 2>/dev/null | python3 -c '
import json, sys
seen = []
for t in json.load(sys.stdin).get("tests", []):
    cmd = t.get("command") or []
    if cmd and cmd[0] not in seen:
        seen.append(cmd[0])
print("\n".join(seen))'
}

phase_sanitize() {
  local filter=()
  [[ -n "${SANITIZER_GTEST_FILTER:-}" ]] && filter=(--gtest_filter="$SANITIZER_GTEST_FILTER")
  local exes
  exes="$(cuda_test_executables)"
  [[ -n "$exes" ]] || { echo "no cuda-labelled test executables" | tee -a "$OUT/steps.log"; status=1; return; }
  for exe in $exes; do
    local name
    name="$(basename "$exe")"
    step "memcheck-$name" compute-sanitizer --tool memcheck --leak-check full --error-exitcode 99 "$exe" "${filter[@]}"
    step "racecheck-$name" compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 99 "$exe" "${filter[@]}"
  done
}

phase_bench() {
  local found=0
  while IFS= read -r exe; do
    found=1
    local name
    name="$(basename "$exe")"
    step "bench-$name" "$exe" --benchmark_out="$OUT/bench-$name.json" --benchmark_out_format=json \
      --benchmark_min_time="${BENCH_MIN_TIME:-0.2}"
  done < <(find "$build" -type f -perm -u+x \( -name '*bench*' -o -name '*benchmark*' \) ! -name '*.so*' -path '*cases*' | sort)
  [[ $found -eq 1 ]] || echo "no benchmark executables under $build/cases" | tee -a "$OUT/steps.log"
}

phase="${1:-all}"
phase_info
case "$phase" in
  deps) phase_deps ;;
  build) phase_build ;;
  test) phase_test ;;
  sanitize) phase_sanitize ;;
  bench) phase_bench ;;
  all) phase_deps; phase_build; phase_test; phase_sanitize; phase_bench ;;
  *) echo "usage: $0 [deps|build|test|sanitize|bench|all]"; exit 2 ;;
esac
echo "gpu_run: phase $phase finished with status $status; logs in $OUT" | tee -a "$OUT/steps.log"
exit $status
