// A host buffer for one kernel argument, laid out as the kernel sees it (row-major, optional row
// padding), with a sentinel guard band after it. The padding between rows is guarded too, so a
// kernel that writes past a row's end or past the buffer is caught (llama.cpp's sentinels, CUTLASS's
// poisoned outputs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck {

class HostTensor {
 public:
  static constexpr std::size_t kGuardBytes = 256;
  static constexpr uint8_t kGuardByte = 0xA5;

  HostTensor() = default;
  // rows x cols elements of dtype, rows padded to row_stride elements (row_stride >= cols; 0 means cols).
  HostTensor(DType dtype, int64_t rows, int64_t cols, int64_t row_stride = 0);
  static HostTensor vector(DType dtype, int64_t size) { return HostTensor(dtype, 1, size); }

  DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t row_stride() const { return row_stride_; }
  int64_t numel() const { return rows_ * cols_; }
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }
  float* f32() { return reinterpret_cast<float*>(bytes_.data()); }
  const float* f32() const { return reinterpret_cast<const float*>(bytes_.data()); }

  kernels::ConstMatrix matrix() const { return {data(), dtype_, rows_, cols_, row_stride_}; }
  kernels::MutMatrix mut_matrix() { return {data(), dtype_, rows_, cols_, row_stride_}; }
  kernels::ConstVector const_vector() const { return {data(), dtype_, numel()}; }
  kernels::MutVector mut_vector() { return {data(), dtype_, numel()}; }

  // Element access through float64 (every supported dtype converts exactly).
  double get(int64_t r, int64_t c) const;
  // Stores value rounded to the dtype (round to nearest even; ints are range-checked).
  void set(int64_t r, int64_t c, double value);
  std::vector<double> to_doubles() const;  // dense rows * cols
  void from_doubles(const std::vector<double>& values);

  // Fills every element (not the padding) with a value that no kernel produces by accident:
  // a NaN payload for floats, 0x5A for int8, 0x5A5A5A5A for int32.
  void poison();
  // The guard band and the row padding still hold the sentinel.
  bool guards_intact(std::string* where) const;
  // FNV-1a of the whole buffer, to show an input was not modified.
  uint64_t checksum() const;

 private:
  std::size_t element_offset(int64_t r, int64_t c) const;
  std::size_t payload_bytes() const;

  DType dtype_ = DType::f32;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t row_stride_ = 0;
  std::vector<uint8_t> bytes_;
};

}  // namespace smoothcheck
