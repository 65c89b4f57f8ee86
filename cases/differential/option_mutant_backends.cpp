// Mutants that each ignore one named option of kernels/options.h or swap it for its neighbour: the proof
// that the case tables tell every option apart (option_coverage_tests.cpp requires one per option value).
// Most are the CPU backend called with one option rewritten; the rest recompute one step the way the
// neighbouring option would.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cases/differential/mutant_backends.h"
#include "cases/differential/mutant_support.h"
#include "kernels/cpu/cpu_backend_impl.h"

namespace smoothcheck::mutants {
namespace {

using kernels::ConstMatrix;
using kernels::ConstVector;
using kernels::CpuBackend;
using kernels::MutMatrix;
using support::load_float;
using support::row_of;
using support::store_float;

// An activation-quantisation option replaced before the kernel runs, in every entry point that takes
// one (per token, per tensor, fused RMSNorm). Which entry points: the Entry bit set.
enum Entry : unsigned { kPerToken = 1, kPerTensor = 2, kRmsnorm = 4 };
template <class Rewrite, unsigned entries>
struct ActOptionRewritten final : CpuBackend {
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    CpuBackend::quantize_per_token(x, s, (entries & kPerToken) ? Rewrite{}(o) : o, q, scale);
  }
  void quantize_per_tensor(ConstMatrix x, const float* s, float scale, const ActQuantOptions& o, MutMatrix q) override {
    CpuBackend::quantize_per_tensor(x, s, scale, (entries & kPerTensor) ? Rewrite{}(o) : o, q);
  }
  void rmsnorm_quantize(ConstMatrix x, ConstVector w, float eps, const ActQuantOptions& o, MutMatrix q,
                        float* scale) override {
    CpuBackend::rmsnorm_quantize(x, w, eps, (entries & kRmsnorm) ? Rewrite{}(o) : o, q, scale);
  }
};
template <Rounding from, Rounding to>
struct RoundingSwap {
  ActQuantOptions operator()(ActQuantOptions o) const { if (o.rounding == from) o.rounding = to; return o; }
};
template <ScaleMath from, ScaleMath to>
struct ScaleMathSwap {
  ActQuantOptions operator()(ActQuantOptions o) const { if (o.math == from) o.math = to; return o; }
};
struct ClampAlways {
  ActQuantOptions operator()(ActQuantOptions o) const { o.clamp = Clamp::saturate; return o; }
};
// zero_scale rows get TensorRT-LLM's 1e-6 floor; floor rows lose it.
struct ZeroScaleBecomesFloor {
  ActQuantOptions operator()(ActQuantOptions o) const {
    if (o.zero_row == ZeroRow::zero_scale) { o.zero_row = ZeroRow::floor; o.absmax_floor = 1e-6f; }
    return o;
  }
};
struct FloorBecomesZeroScale {
  ActQuantOptions operator()(ActQuantOptions o) const { o.zero_row = ZeroRow::zero_scale; return o; }
};

// A weight variant quantised as another one (its scale divisor, floor and clamp).
template <WeightQuant from, WeightQuant as>
struct WeightVariantSwapped final : CpuBackend {
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    CpuBackend::quantize_weight(w, variant == from ? as : variant, q, scale);
  }
};

// lmdeploy's weight scale computed as absmax / 127.5 (compressed-tensors' divisor) under the lmdeploy label.
struct LmdeployWeightScaleOver127_5 final : CpuBackend {
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    if (variant != WeightQuant::lmdeploy) return CpuBackend::quantize_weight(w, variant, q, scale);
    CpuBackend::quantize_weight(w, variant, q, scale);  // argument checks and the layout
    for (int64_t r = 0; r < w.rows; ++r) {
      float absmax = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c) absmax = std::max(absmax, std::fabs(load_float(w, r, c)));
      scale[r] = absmax / 127.5f;
      for (int64_t c = 0; c < w.cols; ++c)
        row_of<int8_t>(q, r)[c] = scale[r] == 0.0f ? 0 : numerics::weight_code(load_float(w, r, c), scale[r], variant, DType::f32);
    }
  }
};

// compressed-tensors codes with one step of its rule changed: ties rounded away from zero, or the clamp
// before the rounding left out (+127.5 then rounds to 128 and wraps).
template <bool ties_away, bool clamp>
struct CompressedTensorsCodes final : CpuBackend {
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    CpuBackend::quantize_weight(w, variant, q, scale);
    if (variant != WeightQuant::compressed_tensors) return;
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c) {
        float v = numerics::div_rn(load_float(w, r, c), scale[r]);
        if (clamp) v = std::fmin(std::fmax(v, -128.0f), 127.0f);
        float rounded = ties_away ? numerics::round_half_away(v) : numerics::round_half_even(v);
        row_of<int8_t>(q, r)[c] = numerics::store_int8(rounded, clamp ? Clamp::saturate : Clamp::none);
      }
  }
};

// compressed-tensors' w / scale formed as w * fl(1 / scale): an ulp off, which moves the code only where
// the exact value is a tie, as on every element of a constant row (+-127.5).
struct CompressedTensorsReciprocal final : CpuBackend {
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    CpuBackend::quantize_weight(w, variant, q, scale);
    if (variant != WeightQuant::compressed_tensors) return;
    for (int64_t r = 0; r < w.rows; ++r) {
      const float reciprocal = numerics::div_rn(1.0f, scale[r]);
      for (int64_t c = 0; c < w.cols; ++c) {
        float v = std::fmin(std::fmax(numerics::mul_rn(load_float(w, r, c), reciprocal), -128.0f), 127.0f);
        row_of<int8_t>(q, r)[c] = numerics::store_int8(numerics::round_half_even(v), Clamp::saturate);
      }
    }
  }
};

// The W8A8 epilogue recomputed from the exact accumulators with a chosen per-element rule.
template <class Rule>
struct EpilogueRewritten final : CpuBackend {
  void gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* sa, const float* sb, ConstVector bias, Epilogue e,
                 MutMatrix out) override {
    CpuBackend::gemm_w8a8(a, b, sa, sb, bias, e, out);  // argument checks
    std::vector<int32_t> acc(std::size_t(a.rows * b.rows));
    CpuBackend::gemm_s8s8s32(a, b, MutMatrix{acc.data(), DType::i32, a.rows, b.rows, b.rows});
    for (int64_t m = 0; m < a.rows; ++m)
      for (int64_t n = 0; n < b.rows; ++n) {
        const bool has_bias = bias.data != nullptr;
        float bias_n = 0.0f;
        if (has_bias) bias_n = load_float(ConstMatrix{bias.data, bias.dtype, 1, bias.size, bias.size}, 0, n);
        store_float(out, m, n, Rule{}(acc[std::size_t(m * b.rows + n)], sa[m], sb[n], has_bias, bias_n, e, out.dtype));
      }
  }
};
float vllm_value(int32_t acc, float sa, float sb, bool, float bias, DType) {
  return numerics::epilogue_vllm(acc, sa, sb, bias);
}
float lmdeploy_value(int32_t acc, float sa, float sb, bool has_bias, float bias, DType out) {
  float y = numerics::round_to(numerics::epilogue_lmdeploy(acc, sa, sb), out);
  return has_bias ? numerics::add_rn(y, bias) : y;
}
// Each epilogue evaluated as its neighbour.
struct EpiloguesSwapped {
  float operator()(int32_t acc, float sa, float sb, bool hb, float bias, Epilogue e, DType out) const {
    return e == Epilogue::vllm ? lmdeploy_value(acc, sa, sb, hb, bias, out) : vllm_value(acc, sa, sb, hb, bias, out);
  }
};
// vLLM's epilogue with one extra rounding: sa * sb * acc stored in the output dtype before the bias is
// added (half an output ulp at most, and only with a bias).
struct VllmExtraOutputRounding {
  float operator()(int32_t acc, float sa, float sb, bool hb, float bias, Epilogue e, DType out) const {
    if (e != Epilogue::vllm) return lmdeploy_value(acc, sa, sb, hb, bias, out);
    float product = numerics::round_to(numerics::mul_rn(sa, numerics::mul_rn(sb, float(acc))), out);
    return numerics::add_rn(product, hb ? bias : -0.0f);
  }
};
// vLLM's epilogue unfused: sa * (sb * acc) rounded to f32 before the bias is added, where CUTLASS's
// multiply_add (vLLM's scaled_mm_epilogues_c3x.hpp ScaledEpilogueBias) is one fma. The f32 rows with a
// bias show it directly; f16/bf16 only where the bias cancels the product (bias_cancels_row0 rows).
struct VllmProductRoundedBeforeBias {
  float operator()(int32_t acc, float sa, float sb, bool hb, float bias, Epilogue e, DType out) const {
    if (e != Epilogue::vllm) return lmdeploy_value(acc, sa, sb, hb, bias, out);
    return numerics::add_rn(numerics::mul_rn(sa, numerics::mul_rn(sb, float(acc))), hb ? bias : -0.0f);
  }
};
template <Epilogue named>
struct OneEpilogueSwapped {
  float operator()(int32_t acc, float sa, float sb, bool hb, float bias, Epilogue e, DType out) const {
    if (e != named) return e == Epilogue::vllm ? vllm_value(acc, sa, sb, hb, bias, out) : lmdeploy_value(acc, sa, sb, hb, bias, out);
    return EpiloguesSwapped{}(acc, sa, sb, hb, bias, e, out);
  }
};

// One recipe's weight statistic computed by its neighbour's rule.
template <Recipe from, Recipe as>
struct WeightStatRecipeSwapped final : CpuBackend {
  void weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                   DType arithmetic = DType::f32) override {
    CpuBackend::weight_stat(fcs, fc_count, recipe == from ? as : recipe, group_size, w, arithmetic);
  }
};

// One recipe's smoothing scale computed by its neighbour's rule.
template <Recipe from, Recipe as>
struct SmoothScaleRecipeSwapped final : CpuBackend {
  void smooth_scale(const float* a, const float* w, const float* norm, int64_t c, Recipe recipe, float alpha,
                    float* s, DType arithmetic = DType::f32) override {
    CpuBackend::smooth_scale(a, w, norm, c, recipe == from ? as : recipe, alpha, s, arithmetic);
  }
};

}  // namespace

std::vector<Mutant> option_mutants() {
  using support::mutant;
  const std::string even = option_name("Rounding", Rounding::half_even), away = option_name("Rounding", Rounding::half_away);
  const std::string divide = option_name("ScaleMath", ScaleMath::divide);
  const std::string reciprocal = option_name("ScaleMath", ScaleMath::reciprocal_multiply);
  using EvenToAway = RoundingSwap<Rounding::half_even, Rounding::half_away>;
  using AwayToEven = RoundingSwap<Rounding::half_away, Rounding::half_even>;
  using DivideToReciprocal = ScaleMathSwap<ScaleMath::divide, ScaleMath::reciprocal_multiply>;
  using ReciprocalToDivide = ScaleMathSwap<ScaleMath::reciprocal_multiply, ScaleMath::divide>;
  return {
      // Rounding: ties away where half-even is named, and the reverse, in every family that rounds ties.
      mutant<ActOptionRewritten<AwayToEven, kPerToken>>("half_even_rounding_where_half_away_is_required",
                                                         "quantize_per_token", "*midpoints/half_away*", "codes: q", away),
      mutant<ActOptionRewritten<EvenToAway, kPerTensor>>("per_tensor_ties_away_where_half_even_is_required",
                                                          "quantize_per_tensor", "*midpoints/half_even*", "codes: q", even),
      mutant<ActOptionRewritten<AwayToEven, kPerTensor>>("per_tensor_ties_to_even_where_half_away_is_required",
                                                          "quantize_per_tensor", "*midpoints/half_away*", "codes: q", away),
      mutant<ActOptionRewritten<EvenToAway, kRmsnorm>>("rmsnorm_ties_away_where_half_even_is_required",
                                                        "rmsnorm_quantize", "*midpoints/half_even*eps0*", "codes: q", even),
      mutant<ActOptionRewritten<AwayToEven, kRmsnorm>>("rmsnorm_ties_to_even_where_half_away_is_required",
                                                        "rmsnorm_quantize", "*midpoints/half_away*eps0*", "codes: q", away),
      mutant<CompressedTensorsCodes<true, true>>("compressed_tensors_weight_ties_away", "quantize_weight",
                                                 "*midpoints/compressed_tensors*", "codes: q", even),
      // ScaleMath: the sub-ulp difference between x / fl(scale) and x * fl(1 / scale).
      mutant<ActOptionRewritten<DivideToReciprocal, kPerToken>>("per_token_reciprocal_where_divide_is_named",
                                                                 "quantize_per_token", "*scale_math_split/*divide*",
                                                                 "codes: q", divide),
      mutant<ActOptionRewritten<ReciprocalToDivide, kPerToken>>("per_token_divide_where_reciprocal_is_named",
                                                                 "quantize_per_token", "*scale_math_split/*reciprocal*",
                                                                 "codes: q", reciprocal),
      mutant<ActOptionRewritten<DivideToReciprocal, kPerTensor>>("per_tensor_reciprocal_where_divide_is_named",
                                                                  "quantize_per_tensor", "*scale_math_split/*divide*",
                                                                  "codes: q", divide),
      mutant<ActOptionRewritten<ReciprocalToDivide, kPerTensor>>("per_tensor_divide_where_reciprocal_is_named",
                                                                  "quantize_per_tensor", "*scale_math_split/*reciprocal*",
                                                                  "codes: q", reciprocal),
      mutant<ActOptionRewritten<DivideToReciprocal, kRmsnorm>>("rmsnorm_reciprocal_where_divide_is_named",
                                                                "rmsnorm_quantize", "*scale_math_split/*divide*",
                                                                "codes: q", divide),
      mutant<ActOptionRewritten<ReciprocalToDivide, kRmsnorm>>("rmsnorm_divide_where_reciprocal_is_named",
                                                                "rmsnorm_quantize", "*scale_math_split/*reciprocal*",
                                                                "codes: q", reciprocal),
      // Clamp: saturation where none is named; compressed-tensors' clamp before rounding left out.
      mutant<ActOptionRewritten<ClampAlways, kPerTensor>>("saturates_where_no_clamp_is_named", "quantize_per_tensor",
                                                           "*noclamp*scale_x50pct*", "codes: q",
                                                           option_name("Clamp", Clamp::none)),
      mutant<CompressedTensorsCodes<false, false>>("compressed_tensors_weight_clamp_ignored", "quantize_weight",
                                                   "*midpoints/compressed_tensors*", "codes: q",
                                                   option_name("WeightQuant", WeightQuant::compressed_tensors)),
      mutant<CompressedTensorsReciprocal>("compressed_tensors_weight_reciprocal_multiply", "quantize_weight",
                                          "*/f32/constrows/compressed_tensors*", "codes: q",
                                          option_name("WeightQuant", WeightQuant::compressed_tensors)),
      // ZeroRow: each rule swapped for the other.
      mutant<ActOptionRewritten<ZeroScaleBecomesFloor, kPerToken>>("zero_row_floored_where_zero_scale_is_named",
                                                                    "quantize_per_token", "*zerorows/*zero_scale*",
                                                                    "bound: scale", option_name("ZeroRow", ZeroRow::zero_scale)),
      mutant<ActOptionRewritten<FloorBecomesZeroScale, kPerToken>>("zero_row_floor_ignored", "quantize_per_token",
                                                                    "*zerorows/*floor*", "bound: scale",
                                                                    option_name("ZeroRow", ZeroRow::floor)),
      // WeightQuant: each variant quantised as its neighbour, and lmdeploy's scale with the wrong divisor.
      mutant<LmdeployWeightScaleOver127_5>("lmdeploy_weight_scale_absmax_over_127_5", "quantize_weight", "*/lmdeploy/*",
                                           "bound: scale", option_name("WeightQuant", WeightQuant::lmdeploy)),
      mutant<WeightVariantSwapped<WeightQuant::smoothquant, WeightQuant::lmdeploy>>(
          "smoothquant_weights_quantised_as_lmdeploy", "quantize_weight", "*zerorows/smoothquant*", "bound: scale",
          option_name("WeightQuant", WeightQuant::smoothquant)),
      mutant<WeightVariantSwapped<WeightQuant::compressed_tensors, WeightQuant::lmdeploy>>(
          "compressed_tensors_weights_quantised_as_lmdeploy", "quantize_weight", "*/compressed_tensors/*", "bound: scale",
          option_name("WeightQuant", WeightQuant::compressed_tensors)),
      // Epilogue: each swapped for the other, and vLLM's with an extra rounding to the output dtype.
      mutant<EpilogueRewritten<OneEpilogueSwapped<Epilogue::vllm>>>("lmdeploy_epilogue_where_vllm_is_named", "gemm_w8a8",
                                                                    "*/vllm/bf16/bias/*", "exact: out",
                                                                    option_name("Epilogue", Epilogue::vllm)),
      mutant<EpilogueRewritten<OneEpilogueSwapped<Epilogue::lmdeploy>>>("vllm_epilogue_where_lmdeploy_is_named",
                                                                        "gemm_w8a8", "*/lmdeploy/f16/bias/*",
                                                                        "rounded: out",
                                                                        option_name("Epilogue", Epilogue::lmdeploy)),
      mutant<EpilogueRewritten<VllmExtraOutputRounding>>("vllm_epilogue_rounds_the_product_before_the_bias", "gemm_w8a8",
                                                         "*/vllm/f16/bias/*", "exact: out",
                                                         option_name("Epilogue", Epilogue::vllm)),
      // The fused multiply-add left out, caught in each output dtype on its own.
      mutant<EpilogueRewritten<VllmProductRoundedBeforeBias>>("vllm_epilogue_unfused_f32_out", "gemm_w8a8",
                                                              "*/vllm/f32/bias/*", "exact: out",
                                                              option_name("Epilogue", Epilogue::vllm)),
      mutant<EpilogueRewritten<VllmProductRoundedBeforeBias>>("vllm_epilogue_unfused_f16_out", "gemm_w8a8",
                                                              "*/vllm/f16/bias_cancels_row0/*", "exact: out",
                                                              option_name("Epilogue", Epilogue::vllm)),
      mutant<EpilogueRewritten<VllmProductRoundedBeforeBias>>("vllm_epilogue_unfused_bf16_out", "gemm_w8a8",
                                                              "*/vllm/bf16/bias_cancels_row0/*", "exact: out",
                                                              option_name("Epilogue", Epilogue::vllm)),
      // Recipe: each weight statistic and smoothing scale computed by its neighbour's rule.
      mutant<WeightStatRecipeSwapped<Recipe::smoothquant, Recipe::llmcompressor>>(
          "smoothquant_weight_stat_by_the_llmcompressor_rule", "weight_stat", "*/smoothquant/*", "bound: w",
          option_name("Recipe", Recipe::smoothquant)),
      mutant<WeightStatRecipeSwapped<Recipe::lmdeploy, Recipe::smoothquant>>(
          "lmdeploy_weight_stat_by_the_smoothquant_rule", "weight_stat", "*/lmdeploy/*", "bound: w",
          option_name("Recipe", Recipe::lmdeploy)),
      mutant<WeightStatRecipeSwapped<Recipe::llmcompressor, Recipe::smoothquant>>(
          "llmcompressor_weight_stat_by_the_smoothquant_rule", "weight_stat", "*/llmcompressor/*", "bound: w",
          option_name("Recipe", Recipe::llmcompressor)),
      // The two rules differ only on channels with w = 0 (llm-compressor takes s = range there, the
      // authors' a^alpha / 0 is inf): the zero-channel rows must catch it.
      mutant<SmoothScaleRecipeSwapped<Recipe::llmcompressor, Recipe::smoothquant>>(
          "llmcompressor_smooth_scale_by_the_smoothquant_rule", "smooth_scale", "*llmcompressor*", "nonfinite: s",
          option_name("Recipe", Recipe::llmcompressor)),
  };
}

}  // namespace smoothcheck::mutants
