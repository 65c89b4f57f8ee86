#include "cases/bench/cuda_device_inputs.h"

#include <map>

#include "cases/bench/device_fill.h"
#include "kernels/cuda/cuda_check.h"

namespace smoothcheck::bench {
namespace {

std::string key_of(const char* role, DType t, std::size_t count) {
  return std::string(role) + "/" + to_string(t) + "/" + std::to_string(count);
}

}  // namespace

DeviceBuffer& device_buffer(const std::string& key, std::size_t bytes, const std::function<void(DeviceBuffer&)>& fill) {
  static std::map<std::string, DeviceBuffer> cache;
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache.emplace(key, DeviceBuffer(bytes)).first;
    fill(it->second);
    SC_CUDA_CHECK(cudaStreamSynchronize(kBenchStream));
  }
  return it->second;
}

DeviceBuffer& float_tensor(const char* role, DType t, int64_t rows, int64_t cols, uint64_t seed) {
  return device_buffer(key_of(role, t, std::size_t(rows * cols)), std::size_t(rows * cols) * dtype_size(t),
                       [&](DeviceBuffer& b) { device_fill::fill_float(b.data(), t, rows, cols, cols, seed, kBenchStream); });
}
DeviceBuffer& positive(const char* role, int64_t n, uint64_t seed) {
  return device_buffer(key_of(role, DType::f32, std::size_t(n)), std::size_t(n) * 4,
                       [&](DeviceBuffer& b) { device_fill::fill_positive(b.as<float>(), n, seed, kBenchStream); });
}
DeviceBuffer& power_of_two_pair(const char* role, int64_t n, uint64_t seed) {
  return device_buffer(key_of(role, DType::f32, std::size_t(2 * n)), std::size_t(2 * n) * 4, [&](DeviceBuffer& b) {
    device_fill::fill_power_of_two_pair(b.as<float>(), b.as<float>() + n, n, seed, kBenchStream);
  });
}
DeviceBuffer& int8_padded(const char* role, int64_t rows, int64_t cols, int64_t rows_pad, int64_t cols_pad,
                          uint64_t seed) {
  const std::string key = std::string(role) + "/" + std::to_string(rows) + "x" + std::to_string(cols) + "/pad" +
                          std::to_string(rows_pad) + "x" + std::to_string(cols_pad);
  return device_buffer(key, std::size_t(rows_pad * cols_pad), [&](DeviceBuffer& b) {
    SC_CUDA_CHECK(cudaMemsetAsync(b.data(), 0, b.bytes(), kBenchStream));
    device_fill::fill_int8(b.as<int8_t>(), rows, cols, cols_pad, seed, kBenchStream);
  });
}
DeviceBuffer& scratch(const char* role, std::size_t bytes) {
  return device_buffer(std::string(role) + "/" + std::to_string(bytes), bytes,
                       [](DeviceBuffer& b) { SC_CUDA_CHECK(cudaMemsetAsync(b.data(), 0, b.bytes(), kBenchStream)); });
}

}  // namespace smoothcheck::bench
