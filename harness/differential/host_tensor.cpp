#include "harness/differential/host_tensor.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/numerics.h"

namespace smoothcheck {

HostTensor::HostTensor(DType dtype, int64_t rows, int64_t cols, int64_t row_stride)
    : dtype_(dtype), rows_(rows), cols_(cols), row_stride_(row_stride == 0 ? cols : row_stride) {
  if (rows < 0 || cols < 0 || row_stride_ < cols)
    throw std::invalid_argument("HostTensor: bad shape " + std::to_string(rows) + "x" + std::to_string(cols) +
                                " with row stride " + std::to_string(row_stride_));
  bytes_.assign(payload_bytes() + kGuardBytes, kGuardByte);
  for (int64_t r = 0; r < rows_; ++r) std::memset(&bytes_[element_offset(r, 0)], 0, std::size_t(cols_) * dtype_size(dtype_));
}

std::size_t HostTensor::payload_bytes() const {
  if (rows_ == 0) return 0;
  return std::size_t((rows_ - 1) * row_stride_ + cols_) * dtype_size(dtype_);
}

std::size_t HostTensor::element_offset(int64_t r, int64_t c) const {
  return std::size_t(r * row_stride_ + c) * dtype_size(dtype_);
}

double HostTensor::get(int64_t r, int64_t c) const {
  const uint8_t* p = &bytes_[element_offset(r, c)];
  switch (dtype_) {
    case DType::f64: { double v; std::memcpy(&v, p, 8); return v; }
    case DType::f32: { float v; std::memcpy(&v, p, 4); return v; }
    case DType::f16: { uint16_t v; std::memcpy(&v, p, 2); return numerics::f16_to_float(v); }
    case DType::bf16: { uint16_t v; std::memcpy(&v, p, 2); return numerics::bf16_to_float(v); }
    case DType::i8: return double(int8_t(*p));
    case DType::i32: { int32_t v; std::memcpy(&v, p, 4); return v; }
  }
  return 0;
}

void HostTensor::set(int64_t r, int64_t c, double value) {
  uint8_t* p = &bytes_[element_offset(r, c)];
  switch (dtype_) {
    case DType::f64: std::memcpy(p, &value, 8); return;
    case DType::f32: {
      // Generators produce values already representable in the dtype, so this cast is exact there.
      float v = float(value);
      std::memcpy(p, &v, 4);
      return;
    }
    case DType::f16: { uint16_t v = numerics::float_to_f16(float(value)); std::memcpy(p, &v, 2); return; }
    case DType::bf16: { uint16_t v = numerics::float_to_bf16(float(value)); std::memcpy(p, &v, 2); return; }
    case DType::i8:
      if (!(value >= -128 && value <= 127) || value != std::floor(value))
        throw std::invalid_argument("HostTensor::set: " + std::to_string(value) + " is not an int8");
      *p = uint8_t(int8_t(value));
      return;
    case DType::i32: {
      if (!(value >= -2147483648.0 && value <= 2147483647.0) || value != std::floor(value))
        throw std::invalid_argument("HostTensor::set: " + std::to_string(value) + " is not an int32");
      int32_t v = int32_t(value);
      std::memcpy(p, &v, 4);
      return;
    }
  }
}

std::vector<double> HostTensor::to_doubles() const {
  std::vector<double> out(static_cast<std::size_t>(numel()));
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t c = 0; c < cols_; ++c) out[std::size_t(r * cols_ + c)] = get(r, c);
  return out;
}

void HostTensor::from_doubles(const std::vector<double>& values) {
  if (int64_t(values.size()) != numel()) throw std::invalid_argument("HostTensor::from_doubles: size mismatch");
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t c = 0; c < cols_; ++c) set(r, c, values[std::size_t(r * cols_ + c)]);
}

void HostTensor::poison() {
  for (int64_t r = 0; r < rows_; ++r) {
    uint8_t* row = &bytes_[element_offset(r, 0)];
    for (int64_t c = 0; c < cols_; ++c) {
      uint8_t* p = row + std::size_t(c) * dtype_size(dtype_);
      switch (dtype_) {
        case DType::f64: { uint64_t v = 0x7ff8dead0000beefull; std::memcpy(p, &v, 8); break; }
        case DType::f32: { uint32_t v = 0x7fc0dead; std::memcpy(p, &v, 4); break; }
        case DType::f16: case DType::bf16: { uint16_t v = dtype_ == DType::f16 ? 0x7e5a : 0x7fda; std::memcpy(p, &v, 2); break; }
        case DType::i8: *p = 0x5A; break;
        case DType::i32: { uint32_t v = 0x5A5A5A5A; std::memcpy(p, &v, 4); break; }
      }
    }
  }
}

bool HostTensor::guards_intact(std::string* where) const {
  const std::size_t esize = dtype_size(dtype_);
  for (int64_t r = 0; r + 1 < rows_; ++r) {
    std::size_t begin = element_offset(r, cols_), end = element_offset(r + 1, 0);
    for (std::size_t i = begin; i < end; ++i)
      if (bytes_[i] != kGuardByte) {
        if (where) *where = "row padding after row " + std::to_string(r) + " (element " + std::to_string(cols_ + int64_t((i - begin) / esize)) + ")";
        return false;
      }
  }
  for (std::size_t i = payload_bytes(); i < bytes_.size(); ++i)
    if (bytes_[i] != kGuardByte) {
      if (where) *where = "guard band, byte " + std::to_string(i - payload_bytes()) + " past the end";
      return false;
    }
  return true;
}

uint64_t HostTensor::checksum() const {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes_) h = (h ^ b) * 1099511628211ull;
  return h;
}

}  // namespace smoothcheck
