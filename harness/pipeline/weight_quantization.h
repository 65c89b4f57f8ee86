// One smoothed weight quantised per output channel (numerics.md §5) on a production backend: shared by
// `quantize`, which exports the codes, and `sweep`, which measures them at every α.
#pragma once

#include <cstdint>
#include <vector>

#include "harness/pipeline/float_weights.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

// w [O, C] float32 holding values of `arithmetic` (smoothing rounded them there: SmoothingArithmetic::
// model_dtype), quantised by `variant` in that dtype, as the engines quantise their weights in place;
// codes [O·C] int8 row-major and scale [O] written by the caller's buffers. The weights go to the kernel
// in that dtype, narrowed into `narrowed` when given (a caller quantising layer after layer keeps one
// buffer instead of faulting in a fresh one per linear).
void quantize_weight_rows(kernels::Backend& backend, const FloatMatrix& w, WeightQuant variant, DType arithmetic,
                          int8_t* codes, float* scale, std::vector<uint16_t>* narrowed = nullptr);

}  // namespace smoothcheck::pipeline
