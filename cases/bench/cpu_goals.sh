#!/usr/bin/env bash
# Measures the CPU performance goals of issues 6 and 18 with cpu_kernel_benchmarks and prints the table
# that reports/cpu_performance.md records. Every ratio is a kernel's rate over a ceiling measured in the
# same process (copy bandwidth at start-up; LibTorch's oneDNN int8 linear and f32 mm just before each
# GEMM shape; the vpmaddwd ceiling right after each GEMM row), so a loaded machine moves both sides; the
# run is repeated and the median reported.
#
#   cases/bench/cpu_goals.sh BUILD_DIR [RUNS (default 3)] [OUT_DIR (default BUILD_DIR/cpu-goals)]
set -euo pipefail
build="${1:?usage: cpu_goals.sh BUILD_DIR [RUNS] [OUT_DIR]}"
runs="${2:-3}"
out="${3:-$build/cpu-goals}"
bench="$build/cases/bench/cpu_kernel_benchmarks"
[[ -x "$bench" ]] || { echo "cpu_goals: $bench not built" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"

bandwidth='^(quantize_per_token|quantize_per_token_migration|rmsnorm_quantize|channel_stats)/(f32|bf16)/avx2/tokens:4096/hidden:4096/'
gemm='^(ceiling/torch_mm_f32|ceiling/torch_linear_dynamic_int8_onednn|gemm_s8s8s32/avx2|gemm_w8a8/f32/vllm/avx2)/M:512/'
# Issue 18: the exact GEMM, plain and prepacked, over the vpmaddwd ceiling (re-measured beside each row),
# at prefill and decode; the ceiling rows themselves for the record.
exact='^(ceiling/vpmaddwd|gemm_s8s8s32/(prepacked/)?avx2/M:(16|512)/)'
files=()
for ((r = 1; r <= runs; ++r)); do
  echo "cpu_goals: run $r of $runs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$bench" "--benchmark_filter=$bandwidth" --benchmark_repetitions=3 --benchmark_min_time=0.3 \
    --benchmark_out="$out/bandwidth_$r.json" --benchmark_out_format=json >/dev/null
  "$bench" "--benchmark_filter=$gemm" --benchmark_out="$out/gemm_$r.json" --benchmark_out_format=json >/dev/null
  "$bench" "--benchmark_filter=$exact" --benchmark_repetitions=3 --benchmark_min_time=0.3 \
    --benchmark_out="$out/exact_gemm_$r.json" --benchmark_out_format=json >/dev/null
  files+=("$out/bandwidth_$r.json" "$out/gemm_$r.json" "$out/exact_gemm_$r.json")
done
python3 "$here/summarize_cpu_goals.py" "${files[@]}"
