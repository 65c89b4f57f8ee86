#!/usr/bin/env bash
# libFuzzer on every checkpoint parser (cases/fuzz; README "Robustness").
#
#   scripts/fuzz.sh [run]              build the fuzz targets with the asan preset (clang, ASan + UBSan)
#                                      into build/asan; run the corpus replay and hostile-checkpoint tests
#                                      against those instrumented parsers; then `fuzz`
#   scripts/fuzz.sh fuzz               run every target for FUZZ_SECONDS (default 25) on its committed
#                                      corpus, two at a time (CI: scripts/sanitize.sh asan has run the
#                                      replays already)
#   scripts/fuzz.sh corpus             rewrite the committed seed corpora cases/fuzz/corpus/*/seed-*
#   scripts/fuzz.sh repro TARGET FILE  run one input (a crash reproducer) through fuzz_TARGET
#
# New inputs found while fuzzing go to build/asan/corpus-work/TARGET, never into the source tree; a
# crash writes build/asan/findings/TARGET-crash-<sha1> and fails the run. To keep a finding: copy it to
# cases/fuzz/corpus/TARGET/crash-<what-it-was>, fix the parser, and corpus_replay_tests replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(safetensors shard_index llama_config llama2c calibration_stats bin_loader)
declare -A max_len=([safetensors]=4096 [shard_index]=4096 [llama_config]=4096 [llama2c]=16384
                    [calibration_stats]=8192 [bin_loader]=16384)
build=build/asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan_suppressions.txt:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

build_targets() {
  [[ -f $build/CMakeCache.txt ]] || cmake --preset asan >/dev/null
  ninja -C "$build" -j "${FUZZ_JOBS:-2}" "$@" >/dev/null
}

run_one() {
  local t=$1 seconds=$2
  mkdir -p "$build/corpus-work/$t" "$build/findings"
  # A fixed seed (FUZZ_SEED, default 1) makes CI's short runs repeat the same mutations, so a red CI is a
  # finding to fix, not luck; longer local runs can vary it.
  "$build/cases/fuzz/fuzz_$t" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -max_len="${max_len[$t]}" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -dict=cases/fuzz/checkpoint.dict \
    -artifact_prefix="$build/findings/$t-" "$build/corpus-work/$t" "cases/fuzz/corpus/$t" \
    >"$build/findings/$t.log" 2>&1
}

replay() {
  build_targets corpus_replay_tests hostile_checkpoint_cases
  # The committed corpus and the hostile checkpoints against the instrumented parsers.
  for t in cases/fuzz/corpus_replay_tests cases/robustness/hostile_checkpoint_cases; do
    "$build/$t" >"$build/$(basename "$t").log" 2>&1 ||
      { tail -n 60 "$build/$(basename "$t").log" >&2; echo "fuzz: $t failed under ASan/UBSan" >&2; exit 1; }
    echo "fuzz: $(basename "$t") under ASan/UBSan: $(grep -E '^\[  PASSED  \]' "$build/$(basename "$t").log")"
  done
}

case ${1:-run} in
  run | fuzz)
    seconds=${FUZZ_SECONDS:-25}
    [[ ${1:-run} == fuzz ]] || replay
    build_targets "${targets[@]/#/fuzz_}"
    failed=()
    pids=()
    for t in "${targets[@]}"; do
      run_one "$t" "$seconds" & pids+=("$!:$t")
      if (( ${#pids[@]} == ${FUZZ_PARALLEL:-2} )); then
        for p in "${pids[@]}"; do wait "${p%%:*}" || failed+=("${p#*:}"); done
        pids=()
      fi
    done
    for p in "${pids[@]}"; do wait "${p%%:*}" || failed+=("${p#*:}"); done
    for t in "${targets[@]}"; do
      execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/findings/$t.log" | grep -o '[0-9]*$' || echo "?")
      echo "fuzz: $t: ${seconds} s, ${execs} inputs$([[ " ${failed[*]} " == *" $t "* ]] && echo ", FAILED")"
    done
    if ((${#failed[@]})); then
      for t in "${failed[@]}"; do
        echo "---- fuzz_$t ($build/findings/$t.log) ----" >&2
        tail -n 40 "$build/findings/$t.log" >&2
      done
      echo "fuzz: findings in $build/findings (reproduce: scripts/fuzz.sh repro TARGET FILE)" >&2
      exit 1
    fi
    ;;
  corpus)
    build_targets make_seed_corpus
    "$build/cases/fuzz/make_seed_corpus" cases/fuzz/corpus
    ;;
  repro)
    [[ $# -eq 3 ]] || { echo "usage: scripts/fuzz.sh repro TARGET FILE" >&2; exit 2; }
    build_targets "fuzz_$2"
    "$build/cases/fuzz/fuzz_$2" "$3"
    ;;
  *)
    echo "usage: scripts/fuzz.sh [run | fuzz | corpus | repro TARGET FILE]" >&2
    exit 2
    ;;
esac
