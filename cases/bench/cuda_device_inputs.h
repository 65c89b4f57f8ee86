// Device buffers of the CUDA suite, generated once per (role, dtype, shape) and kept for the run:
// Google Benchmark calls a benchmark function several times while sizing its iteration count, and the
// inputs are generated on the device (device_fill.h). An H100's 80 GB holds every shape of the suite at
// once. Everything runs on the legacy default stream, as the backend does.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "kernels/cuda/device_buffer.h"
#include "kernels/options.h"

namespace smoothcheck::bench {

using kernels::cuda_detail::DeviceBuffer;

inline const cudaStream_t kBenchStream = nullptr;

// The buffer of `key`: on first use allocated and filled by `fill`, then kept.
DeviceBuffer& device_buffer(const std::string& key, std::size_t bytes, const std::function<void(DeviceBuffer&)>& fill);

// A dense [rows, cols] float tensor of dtype t.
DeviceBuffer& float_tensor(const char* role, DType t, int64_t rows, int64_t cols, uint64_t seed);
// n float32 values in [0.5, 2).
DeviceBuffer& positive(const char* role, int64_t n, uint64_t seed);
// n powers of two followed by their n reciprocals.
DeviceBuffer& power_of_two_pair(const char* role, int64_t n, uint64_t seed);
// int8 codes in a zero-filled [rows_pad, cols_pad] buffer, the [rows, cols] corner random.
DeviceBuffer& int8_padded(const char* role, int64_t rows, int64_t cols, int64_t rows_pad, int64_t cols_pad,
                          uint64_t seed);
// `bytes` zeroed once.
DeviceBuffer& scratch(const char* role, std::size_t bytes);

}  // namespace smoothcheck::bench
