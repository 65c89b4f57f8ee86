// LibTorch views of the reference's plain float64 containers; included by the step files only, so
// reference.h stays torch-free.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>

#include "reference/reference.h"

namespace smoothcheck::reference::internal {

// A read-only float64 view of m. from_blob takes a non-const pointer; the views are never written
// through, every result is a fresh tensor.
inline at::Tensor view_of(const Matrix& m) {
  return at::from_blob(const_cast<double*>(m.values.data()), {m.rows, m.cols},
                       at::TensorOptions().dtype(at::kDouble));
}

inline at::Tensor view_of(const Vector& v) {
  return at::from_blob(const_cast<double*>(v.data()), {static_cast<int64_t>(v.size())},
                       at::TensorOptions().dtype(at::kDouble));
}

// Copies a 2-D float64 tensor (any strides) into a Matrix.
inline Matrix matrix_from(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  Matrix m(c.size(0), c.size(1));
  std::copy(c.data_ptr<double>(), c.data_ptr<double>() + c.numel(), m.values.begin());
  return m;
}

inline Vector vector_from(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  return Vector(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace smoothcheck::reference::internal
