# A benchmark smoke test that cannot pass vacuously (issue 12): runs a Google Benchmark executable
# with --benchmark_out (JSON), then fails when the executable failed, wrote no JSON, ran no benchmark,
# or any benchmark reported an error (State::SkipWithError: "error_occurred": true). Google Benchmark
# itself exits 0 in all of these cases: a filter that matches nothing prints a line and writes an empty
# file; an errored benchmark is a row with error_occurred.
#
#   cmake -DBENCHMARK=<exe> -DJSON=<file> [-DARGS=<arg;arg;...>] -P check_benchmark_smoke.cmake
#   cmake -DJSON=<file> -P check_benchmark_smoke.cmake        # only check an existing JSON file
#
# A CUDA benchmark without a device prints "nothing run: <reason>" and exits with its
# --no_device_exit_code; its ctest entry turns that line into a skip (SKIP_REGULAR_EXPRESSION), and this
# script, seeing no JSON, fails, so the run is never counted a pass.
cmake_minimum_required(VERSION 3.25)  # string(JSON)
# Each message starts with its reason, before any path: CMake wraps long messages, and the tests that
# prove this script can fail match the reason.

if(NOT DEFINED JSON)
  message(FATAL_ERROR "check_benchmark_smoke: -DJSON=<file> is required")
endif()

if(DEFINED BENCHMARK)
  file(REMOVE "${JSON}")  # a stale file from an earlier run must not pass for this one
  execute_process(COMMAND "${BENCHMARK}" ${ARGS} "--benchmark_out=${JSON}" --benchmark_out_format=json
                  RESULT_VARIABLE exit_code)
  if(NOT exit_code EQUAL 0)
    message(FATAL_ERROR "benchmark smoke: the benchmark failed: ${BENCHMARK} exited with ${exit_code}")
  endif()
endif()

if(NOT EXISTS "${JSON}")
  message(FATAL_ERROR "benchmark smoke: no JSON output, nothing ran: ${JSON} was not written")
endif()
file(READ "${JSON}" document)
if(document STREQUAL "")
  message(FATAL_ERROR "benchmark smoke: empty JSON output, nothing ran: ${JSON} (a --benchmark_filter that matches nothing)")
endif()
string(JSON count ERROR_VARIABLE json_error LENGTH "${document}" benchmarks)
if(json_error)
  message(FATAL_ERROR "benchmark smoke: not Google Benchmark JSON: ${JSON}: ${json_error}")
endif()

set(ran 0)
set(errors "")
if(count GREATER 0)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${document}" benchmarks ${i} name)
    string(JSON errored ERROR_VARIABLE missing GET "${document}" benchmarks ${i} error_occurred)
    if(NOT missing AND errored)
      string(JSON why ERROR_VARIABLE no_message GET "${document}" benchmarks ${i} error_message)
      string(APPEND errors "\n  ${name}: ${why}")
      continue()
    endif()
    # Aggregates (mean, median, ...) repeat a run; only iteration rows are benchmarks that ran.
    string(JSON run_type ERROR_VARIABLE no_run_type GET "${document}" benchmarks ${i} run_type)
    if(no_run_type OR run_type STREQUAL "iteration")
      math(EXPR ran "${ran} + 1")
    endif()
  endforeach()
endif()

if(NOT errors STREQUAL "")
  message(FATAL_ERROR "benchmark smoke: benchmarks reported an error:${errors}")
endif()
if(ran EQUAL 0)
  message(FATAL_ERROR "benchmark smoke: zero benchmarks ran: ${JSON} lists none")
endif()
message(STATUS "benchmark smoke: ${ran} benchmarks ran, none reported an error")
