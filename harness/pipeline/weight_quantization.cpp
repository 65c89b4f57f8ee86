#include "harness/pipeline/weight_quantization.h"

#include <ATen/ATen.h>

#include "harness/checked_ops.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::pipeline {

void quantize_weight_rows(kernels::Backend& backend, const FloatMatrix& w, WeightQuant variant, DType arithmetic,
                          int8_t* codes, float* scale) {
  kernels::ConstMatrix weights = w.view();
  at::Tensor in_dtype;  // the weights as a tensor of the arithmetic dtype, when that is not f32
  if (arithmetic != DType::f32) {
    in_dtype = at::from_blob(const_cast<float*>(w.data.data()), {w.rows, w.cols}, at::kFloat)
                   .to(checkpoint::to_scalar_type(arithmetic));  // exact: the values are of that dtype
    weights = kernels::ConstMatrix{in_dtype.data_ptr(), arithmetic, w.rows, w.cols, w.cols};
  }
  checked::quantize_weight(backend, weights, variant, kernels::MutMatrix{codes, DType::i8, w.rows, w.cols, w.cols},
                           checked::MutFloatSpan{scale, w.rows});
}

}  // namespace smoothcheck::pipeline
