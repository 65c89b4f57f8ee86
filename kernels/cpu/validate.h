// Argument checks shared by the CPU kernels; each failure throws KernelError naming the kernel, the
// argument and the rule it broke.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "kernels/kernel_api.h"

namespace smoothcheck::kernels::cpu {

constexpr std::initializer_list<DType> kFloatDtypes = {DType::f32, DType::f16, DType::bf16};

[[noreturn]] void fail(const char* kernel, const std::string& message);
inline void require(bool ok, const char* kernel, const std::string& message) {
  if (!ok) fail(kernel, message);
}

// rows, cols >= 0; row_stride >= cols; data non-null unless empty; dtype one of `allowed`.
void check_matrix(const ConstMatrix& m, const char* kernel, const char* arg, std::initializer_list<DType> allowed);
inline void check_matrix(const MutMatrix& m, const char* kernel, const char* arg,
                         std::initializer_list<DType> allowed) {
  check_matrix(m.as_const(), kernel, arg, allowed);
}
void check_vector(const ConstVector& v, const char* kernel, const char* arg, std::initializer_list<DType> allowed);

// A float array of `count` elements: non-null unless count == 0.
void check_array(const void* p, int64_t count, const char* kernel, const char* arg);

void check_same_shape(const ConstMatrix& a, const MutMatrix& b, const char* kernel, const char* a_name,
                      const char* b_name);

}  // namespace smoothcheck::kernels::cpu
