#include "harness/pipeline/weight_quantization.h"

#include "harness/checked_ops.h"
#include "harness/pipeline/float_conversion.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::pipeline {

void quantize_weight_rows(kernels::Backend& backend, const FloatMatrix& w, WeightQuant variant, DType arithmetic,
                          int8_t* codes, float* scale, std::vector<uint16_t>* narrowed) {
  kernels::ConstMatrix weights = w.view();
  std::vector<uint16_t> own;
  if (arithmetic != DType::f32) {
    // Exact: the values are of that dtype. On every core: LibTorch's conversion ran on one thread, and
    // was a seventh of quantize's CPU time at 1.1B.
    std::vector<uint16_t>& in_dtype = narrowed ? *narrowed : own;
    in_dtype.resize(w.data.size());
    kernels::cpu::parallel_for(static_cast<int64_t>(w.data.size()), int64_t(1) << 18, kernels::cpu::all_cores(),
                               [&](int64_t begin, int64_t end) {
                                 narrow_from_f32(w.data.data() + begin, static_cast<std::size_t>(end - begin), arithmetic,
                                                 in_dtype.data() + begin);
                               });
    weights = kernels::ConstMatrix{in_dtype.data(), arithmetic, w.rows, w.cols, w.cols};
  }
  checked::quantize_weight(backend, weights, variant, kernels::MutMatrix{codes, DType::i8, w.rows, w.cols, w.cols},
                           checked::MutFloatSpan{scale, w.rows});
}

}  // namespace smoothcheck::pipeline
