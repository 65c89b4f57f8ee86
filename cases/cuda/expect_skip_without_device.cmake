# Proves that a CUDA test executable run without a device is reported skipped, never passed: with every
# device hidden (CUDA_VISIBLE_DEVICES set empty), the executable must exit 77 (cases/test_main.cpp: every
# selected case skipped), which smoothcheck_add_test declares as ctest's SKIP_RETURN_CODE, and must
# say why it skipped. On a machine without a GPU (CI) this is the state every run is in.
#   cmake -DEXECUTABLE=<test executable> -P expect_skip_without_device.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${CMAKE_COMMAND}" -E env CUDA_VISIBLE_DEVICES= "${EXECUTABLE}"
                RESULT_VARIABLE exit_code OUTPUT_VARIABLE output ERROR_VARIABLE output)
message(STATUS "${EXECUTABLE} with no visible device (exit ${exit_code}):\n${output}")
if(NOT exit_code EQUAL 77)
  message(FATAL_ERROR "expected exit code 77 (every case skipped), got ${exit_code}: ctest would not report a skip")
endif()
if(NOT output MATCHES "unavailable: ")
  message(FATAL_ERROR "the skips do not say why the CUDA backend is unavailable")
endif()
