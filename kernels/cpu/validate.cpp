#include "kernels/cpu/validate.h"

#include <algorithm>

namespace smoothcheck::kernels::cpu {
namespace {

std::string dtype_list(std::initializer_list<DType> allowed) {
  std::string s;
  for (DType t : allowed) s += (s.empty() ? "" : ", ") + std::string(to_string(t));
  return s;
}

void check_dtype(DType t, const char* kernel, const char* arg, std::initializer_list<DType> allowed) {
  if (std::find(allowed.begin(), allowed.end(), t) == allowed.end())
    fail(kernel, std::string(arg) + ": dtype " + to_string(t) + " is not supported (expected " +
                     dtype_list(allowed) + ")");
}

}  // namespace

void fail(const char* kernel, const std::string& message) {
  throw KernelError(std::string("cpu.") + kernel + ": " + message);
}

void check_matrix(const ConstMatrix& m, const char* kernel, const char* arg, std::initializer_list<DType> allowed) {
  check_dtype(m.dtype, kernel, arg, allowed);
  require(m.rows >= 0 && m.cols >= 0, kernel,
          std::string(arg) + ": negative shape [" + std::to_string(m.rows) + ", " + std::to_string(m.cols) + "]");
  if (m.rows == 0 || m.cols == 0) return;
  require(m.row_stride >= m.cols, kernel,
          std::string(arg) + ": row_stride " + std::to_string(m.row_stride) + " < cols " + std::to_string(m.cols));
  require(m.data != nullptr, kernel,
          std::string(arg) + ": null data for a [" + std::to_string(m.rows) + ", " + std::to_string(m.cols) +
              "] matrix");
}

void check_vector(const ConstVector& v, const char* kernel, const char* arg, std::initializer_list<DType> allowed) {
  check_dtype(v.dtype, kernel, arg, allowed);
  require(v.size >= 0, kernel, std::string(arg) + ": negative size " + std::to_string(v.size));
  check_array(v.data, v.size, kernel, arg);
}

void check_array(const void* p, int64_t count, const char* kernel, const char* arg) {
  require(count == 0 || p != nullptr, kernel,
          std::string(arg) + ": null pointer for " + std::to_string(count) + " elements");
}

void check_same_shape(const ConstMatrix& a, const MutMatrix& b, const char* kernel, const char* a_name,
                      const char* b_name) {
  require(a.rows == b.rows && a.cols == b.cols, kernel,
          std::string(b_name) + " is [" + std::to_string(b.rows) + ", " + std::to_string(b.cols) + "] but " +
              a_name + " is [" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "]");
}

}  // namespace smoothcheck::kernels::cpu
