// numerics.md §4: applying s to the tensors it folds into. Every implementation multiplies or divides
// in the tensor's own dtype (lmdeploy's mul_/div_, the SmoothQuant authors' and llm-compressor's
// in-place ops), one rounding per element; the reference rounds the exact product or quotient to that
// dtype once, correctly (round_product_to_dtype / round_quotient_to_dtype: no float64 double rounding).
// Element loops rather than LibTorch: a correctly rounded product needs its fma residual per element.
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"

namespace smoothcheck::reference {

using internal::require;

Matrix scale_columns(const Matrix& w, const Vector& s, DType dtype) {
  internal::require_nonempty(w, "scale_columns");
  require(static_cast<int64_t>(s.size()) == w.cols,
          "scale_columns: s has " + std::to_string(s.size()) + " channels, w has " + std::to_string(w.cols) + " columns");
  for (std::size_t j = 0; j < s.size(); ++j) require(s[j] > 0.0, "scale_columns: s[" + std::to_string(j) + "] <= 0");
  Matrix out(w.rows, w.cols);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) out.at(r, c) = internal::round_product_to_dtype(w.at(r, c), s[c], dtype);
  return out;
}

Matrix divide_rows(const Matrix& w, const Vector& s, DType dtype) {
  internal::require_nonempty(w, "divide_rows");
  require(static_cast<int64_t>(s.size()) == w.rows,
          "divide_rows: s has " + std::to_string(s.size()) + " channels, w has " + std::to_string(w.rows) + " rows");
  for (std::size_t j = 0; j < s.size(); ++j) require(s[j] > 0.0, "divide_rows: s[" + std::to_string(j) + "] <= 0");
  Matrix out(w.rows, w.cols);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) out.at(r, c) = internal::round_quotient_to_dtype(w.at(r, c), s[r], dtype);
  return out;
}

Vector divide_vector(const Vector& v, const Vector& s, DType dtype) {
  require(!v.empty(), "divide_vector: empty vector");
  require(v.size() == s.size(),
          "divide_vector: s has " + std::to_string(s.size()) + " channels, v " + std::to_string(v.size()));
  Vector out(v.size());
  for (std::size_t j = 0; j < v.size(); ++j) {
    require(s[j] > 0.0, "divide_vector: s[" + std::to_string(j) + "] <= 0");
    out[j] = internal::round_quotient_to_dtype(v[j], s[j], dtype);
  }
  return out;
}

}  // namespace smoothcheck::reference
