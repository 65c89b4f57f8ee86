#include "kernels/packed_gemm_weight.h"

#include <cstring>

#include "kernels/argument_contract.h"

namespace smoothcheck::kernels {

RowMajorGemmWeight::RowMajorGemmWeight(const ConstMatrix& b)
    : PackedGemmWeight(b.rows, b.cols), codes_(std::size_t(b.rows * b.cols)) {
  for (int64_t r = 0; r < b.rows; ++r)
    std::memcpy(&codes_[std::size_t(r * b.cols)], static_cast<const int8_t*>(b.data) + r * b.row_stride,
                std::size_t(b.cols));
}

ConstMatrix RowMajorGemmWeight::view() const {
  return ConstMatrix{codes_.data(), DType::i8, rows(), cols(), cols()};
}

std::unique_ptr<PackedGemmWeight> Backend::pack_gemm_weight(ConstMatrix b) {
  validate_gemm_weight(name().c_str(), b);
  return std::make_unique<RowMajorGemmWeight>(b);
}

void Backend::gemm_s8s8s32_packed(ConstMatrix a, const PackedGemmWeight& b, MutMatrix acc) {
  gemm_s8s8s32(a, packed_as<RowMajorGemmWeight>(b, name().c_str(), "gemm_s8s8s32_packed").view(), acc);
}

void Backend::gemm_w8a8_packed(ConstMatrix a, const PackedGemmWeight& b, const float* scale_a, const float* scale_b,
                               ConstVector bias, Epilogue epilogue, MutMatrix out) {
  gemm_w8a8(a, packed_as<RowMajorGemmWeight>(b, name().c_str(), "gemm_w8a8_packed").view(), scale_a, scale_b, bias,
            epilogue, out);
}

}  // namespace smoothcheck::kernels
