// Smoothing a LLaMA model (numerics.md §2-4): per layer, the groups of harness/models/smoothing_plan.h
// (lmdeploy's mapping; v->o is skipped under grouped-query attention in fused mode), the activation
// statistic of each group's input from the calibration file (absmax; max - min for llmcompressor),
// the weight statistic and s from a production backend, applied to the float32 weights in place.
//
// fused:     norm.weight /= s; fcs' W[:, j] *= s_j; fc->fc: prev.W[j, :] /= s_j, next.W[:, j] *= s_j.
// migration: only the fcs' W[:, j] *= s_j; every linear divides its own input by s at run time,
//            including o_proj and down_proj (the plan lists them as groups with a linear source).
// In a bf16/f16 model's own dtype (SmoothingOptions::arithmetic), as the public tools work in place:
// the activation statistic is cast to it (lmdeploy's act_scales.to(dtype)), the weight statistic and s
// are computed in it (the backends' arithmetic argument), and every product and quotient above is
// rounded to it; the f32 buffers then hold values of that dtype.
// Every linear gets the s its columns were multiplied by as its migration scale; a linear of no group
// (o_proj in fused mode under GQA) gets ones, so that dequantise-and-divide recovers it uniformly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/models/smoothing_plan.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

struct SmoothingOptions {
  Recipe recipe = Recipe::lmdeploy;
  float alpha = 0.5f;
  // A group's own α, by the group's source (`quantize --alpha-file`, alpha_file.h); others take `alpha`.
  std::map<std::string, float> group_alphas;
  SmoothMode mode = SmoothMode::fused;
  // The dtype the statistics, s and every smoothed tensor are computed in (SmoothingArithmetic::
  // model_dtype: the model's stored dtype, smoothing_dtype); f32: float32 throughout.
  DType arithmetic = DType::f32;
};

// The dtype smoothing rounds to for a model stored as `model`.
DType smoothing_dtype(SmoothingArithmetic a, DType model);

struct SmoothingResult {
  std::map<std::string, std::vector<float>> migration_scales;  // by linear name, [in_features]
  // Fused fc->fc pairs: the previous linear whose rows were divided, and by which linear's s.
  std::map<std::string, std::string> rows_divided_by;          // "…up_proj" -> "…down_proj"
};

BlockDims block_dims(const checkpoint::LlamaConfig& c);

// Smooths `weights` in place by `groups`, whose source and fcs are full tensor names without ".weight"
// (a norm source must be in weights.norms, a linear source in weights.linears). Throws
// std::invalid_argument naming the linear for a non-finite or non-positive weight statistic.
SmoothingResult smooth_groups(kernels::Backend& backend, const std::vector<SmoothingGroup>& groups,
                              const CalibrationStats& stats, const SmoothingOptions& o, FloatWeights& weights);

}  // namespace smoothcheck::pipeline
