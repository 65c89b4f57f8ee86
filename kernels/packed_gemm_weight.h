// The packed GEMM weight of a backend without a layout of its own (Backend's default
// pack_gemm_weight): b's rows copied contiguous, read back as a plain matrix by the plain kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {

class RowMajorGemmWeight final : public PackedGemmWeight {
 public:
  explicit RowMajorGemmWeight(const ConstMatrix& b);  // b already validated (validate_gemm_weight)
  ConstMatrix view() const;                           // [N, K] int8, row stride K

 private:
  std::vector<int8_t> codes_;
};

// The packed weight `b` as `Packed`, or KernelError naming `backend` and `kernel` when another backend
// class packed it.
template <class Packed>
const Packed& packed_as(const PackedGemmWeight& b, const char* backend, const char* kernel) {
  if (const auto* p = dynamic_cast<const Packed*>(&b)) return *p;
  throw KernelError(std::string(backend) + "." + kernel + ": b: packed by another backend (pack it with this one)");
}

}  // namespace smoothcheck::kernels
