// verify's re-derivation of one linear's stored weight scale and int8 codes (issue 12): the float64
// reference quantiser (reference::quantize_weight, the variant quantization_config names) applied to
// the original weight smoothed by s, never the scale stored beside the codes. A self-consistent export
// at fewer bits (scale absmax/63), another variant's formula under this one's label, weights that were
// not smoothed, or a code off by one all disagree with it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/pipeline/float_weights.h"
#include "kernels/options.h"

namespace smoothcheck::pipeline {

struct RederivedWeights {
  // max over rows of |stored scale − recipe scale| / (u32 · recipe scale); a NaN or infinite stored
  // scale is infinite here. scale_tolerance_u is the bound it is held to (see the .cpp).
  double max_scale_error_u = 0;
  double scale_tolerance_u = 0;
  int64_t worst_scale_row = 0;
  double worst_scale_stored = 0, worst_scale_recipe = 0;
  // Codes: each must equal the recipe's, except where the smoothed value w·s/scale lies within the
  // f32 arithmetic's error of a rounding midpoint, where either neighbour is allowed (counted).
  int64_t codes = 0;
  int64_t midpoint_codes = 0;
  int64_t wrong_codes = 0;
  int64_t first_wrong_row = -1, first_wrong_col = -1;
  int first_wrong_stored = 0, first_wrong_recipe = 0;
  double first_wrong_value = 0;  // the recipe's unrounded w·s/scale there
  // Rows confirmed by the vectorised path (rederived_weights_avx2.h) and rows the reference re-derived
  // (all of them where that path does not apply; a sample and every row it could not confirm where it
  // does).
  int64_t rows_vectorized = 0;
  int64_t rows_by_reference = 0;
};

// vectorized_where_available: rows of an lmdeploy export in f16/bf16 go through the AVX2 path first
// (the reference decides every row it cannot confirm); reference: every row through the reference (the
// tests' baseline for the path).
enum class RederivationPath { vectorized_where_available, reference };

// original [O, C] float32; codes int8 [O, C] and scale float32 (O values) as stored; s [C] the
// migration scale its columns were multiplied by; rowdiv [O] the fused fc->fc divisor of its rows, or
// nullptr; arithmetic the dtype smoothing rounded to (smoothing_dtype). Rows are processed a block at a
// time, so memory stays a few float64 rows.
//
// In float32 the reference is the ideal w·s/d quantised exactly, and the tolerances below admit the f32
// pipeline's roundings. In a bf16/f16 model's dtype every step is one rounding the engines themselves
// make (w·s rounded to the dtype, then ÷ d rounded to f32 and to the dtype, then the variant's
// quantiser in its arithmetic, reference::quantize_weight_stepwise), so the scales and codes are
// re-derived exactly and held to zero tolerance.
//
// s_error_u: how far s itself may be from the one the export was made with, relative, in u32 (0 for a
// stored s; an s recovered from a third-party checkpoint's norms is one of two adjacent floats: 2). In
// float32 it widens both tolerances by that many roundings.
//
// also_on_rows, when given, is called with each block's first row and row count on the thread that
// re-derived the block, right after it: a second check of the same rows (check_quantized_linears'
// error scan) then reads them from the core's cache instead of memory. before_rows, when given, is
// called the same way right before: it may fill the block's rows of `original` (DeferredRows), which
// are then read from the cache too.
RederivedWeights rederive_weights(const FloatMatrix& original, const at::Tensor& codes, const at::Tensor& scale,
                                  const std::vector<float>& s, const std::vector<float>* rowdiv, WeightQuant variant,
                                  DType arithmetic, double s_error_u = 0,
                                  RederivationPath path = RederivationPath::vectorized_where_available,
                                  const std::function<void(int64_t first_row, int64_t rows)>& also_on_rows = {},
                                  const std::function<void(int64_t first_row, int64_t rows)>& before_rows = {});

}  // namespace smoothcheck::pipeline
