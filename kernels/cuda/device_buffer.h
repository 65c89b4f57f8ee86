// A device allocation owned by one object (cudaMalloc / cudaFree), and the copies between host views
// and device views that keep the host's row stride and its address mod 16, so that a kernel sees the
// same alignment (and exercises the same head/body/tail split) as the view the harness built. Copies
// go through cudaMemcpy2D with the row width in bytes: only the view's elements move, never padding.
#pragma once

#include "kernels/cuda/cuda_headers.h"

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/cuda/cuda_check.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::kernels::cuda_detail {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes > 0) SC_CUDA_CHECK(cudaMalloc(&data_, bytes));
  }
  ~DeviceBuffer() {
    if (data_) cudaFree(data_);  // no throw from a destructor; a sticky error shows at the next call
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (data_) cudaFree(data_);
      data_ = std::exchange(o.data_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// Bytes a [rows, cols] view with row_stride spans from its first element to one past its last.
inline std::size_t view_span_bytes(int64_t rows, int64_t cols, int64_t row_stride, std::size_t elem) {
  if (rows <= 0 || cols <= 0) return 0;
  return (std::size_t(rows - 1) * std::size_t(row_stride) + std::size_t(cols)) * elem;
}

// A device copy (or just the layout) of a host matrix view: same row stride, same address mod 16.
struct DeviceMatrix {
  DeviceBuffer buffer;
  void* data = nullptr;  // device pointer to element (0, 0)
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0, row_stride = 0;

  ConstMatrix view() const { return ConstMatrix{data, dtype, rows, cols, row_stride}; }
  MutMatrix mut_view() const { return MutMatrix{data, dtype, rows, cols, row_stride}; }
};

inline DeviceMatrix device_layout_like(const ConstMatrix& host) {
  DeviceMatrix d;
  d.dtype = host.dtype;
  d.rows = host.rows;
  d.cols = host.cols;
  d.row_stride = host.row_stride;
  const std::size_t elem = dtype_size(host.dtype);
  const std::size_t span = view_span_bytes(host.rows, host.cols, host.row_stride, elem);
  if (span == 0) return d;
  const std::size_t offset = reinterpret_cast<std::uintptr_t>(host.data) % 16;
  d.buffer = DeviceBuffer(span + offset);
  d.data = d.buffer.as<char>() + offset;  // cudaMalloc returns 256-byte aligned memory
  return d;
}

inline DeviceMatrix upload(const ConstMatrix& host) {
  DeviceMatrix d = device_layout_like(host);
  if (!d.data) return d;
  const std::size_t elem = dtype_size(host.dtype), pitch = std::size_t(host.row_stride) * elem;
  SC_CUDA_CHECK(cudaMemcpy2D(d.data, pitch, host.data, pitch, std::size_t(host.cols) * elem, std::size_t(host.rows),
                             cudaMemcpyHostToDevice));
  return d;
}

inline void download(const DeviceMatrix& d, const MutMatrix& host) {
  if (!d.data) return;
  const std::size_t elem = dtype_size(host.dtype);
  SC_CUDA_CHECK(cudaMemcpy2D(host.data, std::size_t(host.row_stride) * elem, d.data, std::size_t(d.row_stride) * elem,
                             std::size_t(host.cols) * elem, std::size_t(host.rows), cudaMemcpyDeviceToHost));
}

// A contiguous array.
template <class T>
DeviceBuffer upload_array(const T* host, int64_t n) {
  DeviceBuffer d(std::size_t(n > 0 ? n : 0) * sizeof(T));
  if (n > 0) SC_CUDA_CHECK(cudaMemcpy(d.data(), host, std::size_t(n) * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <class T>
void download_array(const DeviceBuffer& d, T* host, int64_t n) {
  if (n > 0) SC_CUDA_CHECK(cudaMemcpy(host, d.data(), std::size_t(n) * sizeof(T), cudaMemcpyDeviceToHost));
}

}  // namespace smoothcheck::kernels::cuda_detail
