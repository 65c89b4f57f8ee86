# Proves that check_benchmark_smoke.cmake can fail: runs it on a JSON file it must refuse and passes only
# when it fails with the expected reason (a failure for any other reason, or a pass, fails this test).
#   cmake -DJSON=<file> -DREASON=<regex> -P expect_benchmark_smoke_refusal.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${CMAKE_COMMAND}" "-DJSON=${JSON}" -P "${CMAKE_CURRENT_LIST_DIR}/check_benchmark_smoke.cmake"
                RESULT_VARIABLE exit_code OUTPUT_VARIABLE output ERROR_VARIABLE output)
message(STATUS "check_benchmark_smoke on ${JSON} (exit ${exit_code}):\n${output}")
if(exit_code EQUAL 0)
  message(FATAL_ERROR "check_benchmark_smoke passed ${JSON}, which it must refuse (${REASON})")
endif()
if(NOT output MATCHES "${REASON}")
  message(FATAL_ERROR "check_benchmark_smoke refused ${JSON}, but not for the expected reason: ${REASON}")
endif()
