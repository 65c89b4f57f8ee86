# Runs an executable and passes only when it exits with EXIT_CODE and its output matches OUTPUT_REGEX:
# the proof that a skip-reporting path really reports a skip (exit 77, cases/test_main.cpp), not a pass.
#   cmake -DEXECUTABLE=<exe> [-DARGS=<a;b>] [-DENV=<VAR=value;...>] -DEXIT_CODE=<n> [-DOUTPUT_REGEX=<re>]
#         -P expect_exit_code.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${CMAKE_COMMAND}" -E env ${ENV} "${EXECUTABLE}" ${ARGS}
                RESULT_VARIABLE exit_code OUTPUT_VARIABLE output ERROR_VARIABLE output)
message(STATUS "${EXECUTABLE} ${ARGS} (environment: ${ENV}) exited with ${exit_code}:\n${output}")
if(NOT exit_code STREQUAL EXIT_CODE)
  message(FATAL_ERROR "expected exit code ${EXIT_CODE}, got ${exit_code}")
endif()
if(DEFINED OUTPUT_REGEX AND NOT output MATCHES "${OUTPUT_REGEX}")
  message(FATAL_ERROR "the output does not match: ${OUTPUT_REGEX}")
endif()
