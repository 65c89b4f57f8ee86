#!/usr/bin/env bash
# The CI report (issue 6): results documents from a quick `smoothcheck run`, from calibrate ->
# quantize -> verify on stories260K and from a few CPU benchmarks, then `smoothcheck report` against
# the committed baselines, writing summary.md, index.html and junit.xml under BUILD/reports.
# ctest runs it as report_ci_artifacts; a regression fails it (--fail-on-regression).
#
#   scripts/ci_report.sh BUILD_DIR                     # what CI runs
#   scripts/ci_report.sh BUILD_DIR --update-baselines  # regenerate reports/baselines/*.json (commit them)
#
# The run covers every family on the CPU backend with cases up to 2^20 elements or multiply-adds;
# larger ones are waived with that reason (the full tables run in the differential tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: ci_report.sh BUILD_DIR [--update-baselines]}" && pwd)
update=${2:-}
smoothcheck=$build/harness/smoothcheck
out=$build/reports
work=$out/work
baselines=$root/reports/baselines
max_work=1048576
rm -rf "$work"
mkdir -p "$work"

step() { echo "ci_report: $*"; }

# 1. Kernel cases. Exit 1 means incorrect cases: the report says which, so carry on to it.
step "smoothcheck run --max-work $max_work"
rc=0
"$smoothcheck" run --backend cpu --max-work "$max_work" --json "$out/run_cpu.json" --repro-dir "$work/repro" \
  > "$work/run.log" || rc=$?
tail -n 3 "$work/run.log"
if ((rc > 1)); then cat "$work/run.log"; exit "$rc"; fi
inputs=("$out/run_cpu.json")

# 2. A real checkpoint: calibrate, quantize (migration mode, alpha 0.85), verify with the profile.
model=$root/../shared/checkpoints/stories260K/hf
if [[ -d $model ]]; then
  step "calibrate -> quantize -> verify on stories260K"
  "$smoothcheck" calibrate "$model" --out "$work/stats.safetensors" --samples 4 --seq-len 64 --seed 1 > "$work/pipeline.log"
  "$smoothcheck" quantize "$model" --stats "$work/stats.safetensors" --recipe smoothquant --alpha 0.85 \
    --mode migration --out "$work/quantized" >> "$work/pipeline.log"
  rc=0
  "$smoothcheck" verify "$model" "$work/quantized" --tokens 128 --seed 1 --stats "$work/stats.safetensors" \
    --json "$out/verify_stories260K.json" >> "$work/pipeline.log" || rc=$?
  if ((rc > 1)); then cat "$work/pipeline.log"; exit "$rc"; fi
  inputs+=("$out/verify_stories260K.json")
elif [[ ${CI:-} == true ]]; then
  echo "ci_report: $model is missing, and CI=true requires it" >&2
  exit 1
else
  step "skipping verify: $model is missing"
fi

# 3. A few benchmarks once each (smallest LLaMA shapes and the copy ceiling): charted as fractions of
# their ceilings; one repetition is too few for perf compare's rule, so they are never judged here.
bench=$build/cases/bench/cpu_kernel_benchmarks
if [[ -x $bench ]]; then
  step "cpu_kernel_benchmarks (smoke filter)"
  "$bench" --benchmark_min_time=0.01 --benchmark_out="$work/bench_raw.json" --benchmark_out_format=json \
    "--benchmark_filter=^ceiling/(memcpy|threaded_copy)|tokens:16/hidden:4096/|M:16/N:4096/K:4096/" > "$work/bench.log" 2>&1
  "$smoothcheck" perf record "$work/bench_raw.json" --out "$out/bench_cpu.json"
  inputs+=("$out/bench_cpu.json")
fi

if [[ $update == --update-baselines ]]; then
  mkdir -p "$baselines"
  for f in "${inputs[@]}"; do cp "$f" "$baselines/$(basename "$f")"; done
  step "baselines written to $baselines: ${inputs[*]##*/}"
fi

# The baselines of these inputs (same file names); reports/baselines/ also holds other trackers' files.
baseline_args=()
for f in "${inputs[@]}"; do
  b=$baselines/$(basename "$f")
  if [[ -e $b ]]; then baseline_args+=(--baseline "$b"); else step "no baseline $b: nothing to compare $f with"; fi
done
step "smoothcheck report"
"$smoothcheck" report "${inputs[@]}" "${baseline_args[@]}" --out "$out" --fail-on-regression
