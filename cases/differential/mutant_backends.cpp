#include "cases/differential/mutant_backends.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

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

// Rounds ties away from zero although the options ask for half to even (lmdeploy's Triton rounding
// leaking into a vLLM-style kernel).
struct HalfAwayRounding final : CpuBackend {
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    ActQuantOptions wrong = o;
    wrong.rounding = Rounding::half_away;
    CpuBackend::quantize_per_token(x, s, wrong, q, scale);
  }
};

// Forgets the saturation of a static per-tensor quantiser: out-of-range values wrap.
struct MissingClamp final : CpuBackend {
  void quantize_per_tensor(ConstMatrix x, const float* s, float scale, const ActQuantOptions& o, MutMatrix q) override {
    ActQuantOptions wrong = o;
    wrong.clamp = Clamp::none;
    CpuBackend::quantize_per_tensor(x, s, scale, wrong, q);
  }
};

// compressed-tensors' eps used as a floor (max(absmax/127.5, eps)), where calculate_qparams only replaces
// a scale of exactly 0: rows of absmax below 127.5·eps get scale eps and codes near 0.
struct CompressedTensorsEpsAsFloor final : CpuBackend {
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    CpuBackend::quantize_weight(w, variant, q, scale);
    if (variant != WeightQuant::compressed_tensors) return;
    for (int64_t r = 0; r < w.rows; ++r) {
      if (!(scale[r] < FLT_EPSILON)) continue;
      scale[r] = FLT_EPSILON;
      for (int64_t c = 0; c < w.cols; ++c) {
        const float v = std::clamp(load_float(w, r, c) / FLT_EPSILON, -128.0f, 127.0f);
        row_of<int8_t>(q, r)[c] = int8_t(std::nearbyint(v));
      }
    }
  }
};

// Quantises every weight in float32 after loading it, as smoothcheck did before the engine profiles:
// compressed-tensors and the authors divide a bf16/f16 weight in its own dtype.
struct WeightQuantisedInFloat32 final : CpuBackend {
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    std::vector<float> f32(std::size_t(std::max<int64_t>(w.rows * w.cols, 0)));
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c) f32[std::size_t(r * w.cols + c)] = load_float(w, r, c);
    CpuBackend::quantize_weight(ConstMatrix{f32.data(), DType::f32, w.rows, w.cols, w.cols}, variant, q, scale);
  }
};

// The weight statistic and s computed in float32 whatever arithmetic dtype is named: a model of
// bf16/f16 smoothed with smoothcheck's float32 numbers instead of the tools' own (issue 13).
struct SmoothingArithmeticIgnored final : CpuBackend {
  void weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                   DType = DType::f32) override {
    CpuBackend::weight_stat(fcs, fc_count, recipe, group_size, w, DType::f32);
  }
  void smooth_scale(const float* a, const float* w, const float* norm, int64_t c, Recipe recipe, float alpha, float* s,
                    DType = DType::f32) override {
    CpuBackend::smooth_scale(a, w, norm, c, recipe, alpha, s, DType::f32);
  }
};

// Reduces the weight absmax per input column instead of per output row.
struct PerColumnWeightScale final : CpuBackend {
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    CpuBackend::quantize_weight(w, variant, q, scale);  // for the dtype checks and a correct layout
    if (w.rows == 0 || w.cols == 0) return;
    // Recompute from a transposed reduction: column absmax, used for every row of that column.
    std::vector<float> values(std::size_t(w.rows * w.cols));
    MutMatrix dequantised{values.data(), DType::f32, w.rows, w.cols, w.cols};
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c)
        row_of<float>(dequantised, r)[c] = float(row_of<int8_t>(q, r)[c]) * scale[r];
    std::vector<float> column_absmax(std::size_t(w.cols), 0.0f);
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c)
        column_absmax[std::size_t(c)] = std::max(column_absmax[std::size_t(c)], std::fabs(row_of<float>(dequantised, r)[c]));
    for (int64_t r = 0; r < w.rows; ++r) {
      for (int64_t c = 0; c < w.cols; ++c) {
        float col_scale = column_absmax[std::size_t(c)] / 127.0f;
        float v = col_scale > 0 ? std::nearbyint(row_of<float>(dequantised, r)[c] / col_scale) : 0.0f;
        row_of<int8_t>(q, r)[c] = int8_t(std::clamp(v, -128.0f, 127.0f));
      }
      scale[r] = column_absmax[std::size_t(r % w.cols)] / 127.0f;
    }
  }
};

// Divides the fc's columns by s where it must multiply.
struct DividesInsteadOfMultiplies final : CpuBackend {
  void scale_columns(MutMatrix w, const float* s) override {
    std::vector<float> inverse(std::size_t(w.cols));
    for (int64_t j = 0; j < w.cols; ++j) inverse[std::size_t(j)] = 1.0f / s[j];
    CpuBackend::scale_columns(w, inverse.data());
  }
};

// Handles whole 8-element vectors only: the tail of a row that is not a multiple of 8 is never quantised
// and does not take part in the row's absmax.
struct MissingVectorTail final : CpuBackend {
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    int64_t body = x.cols / 8 * 8;
    if (body == 0) body = std::min<int64_t>(x.cols, 8);
    ConstMatrix x_body = x;
    MutMatrix q_body = q;
    x_body.cols = q_body.cols = body;
    CpuBackend::quantize_per_token(x_body, s, o, q_body, scale);
  }
};

// Applies the per-token scale along columns and the per-channel scale along rows.
struct SwappedEpilogueScales final : CpuBackend {
  void gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* sa, const float* sb, ConstVector bias, Epilogue e,
                 MutMatrix out) override {
    std::vector<float> swapped_a(std::size_t(a.rows)), swapped_b(std::size_t(b.rows));
    for (int64_t m = 0; m < a.rows; ++m) swapped_a[std::size_t(m)] = sb[m % std::max<int64_t>(b.rows, 1)];
    for (int64_t n = 0; n < b.rows; ++n) swapped_b[std::size_t(n)] = sa[n % std::max<int64_t>(a.rows, 1)];
    CpuBackend::gemm_w8a8(a, b, swapped_a.data(), swapped_b.data(), bias, e, out);
  }
};

// Does not zero the accumulator between 16-column output tiles: each tile starts from the previous one's.
struct StaleAccumulator final : CpuBackend {
  void gemm_s8s8s32(ConstMatrix a, ConstMatrix b, MutMatrix acc) override {
    CpuBackend::gemm_s8s8s32(a, b, acc);
    for (int64_t m = 0; m < acc.rows; ++m) {
      int32_t* row = row_of<int32_t>(acc, m);
      for (int64_t n = 16; n < acc.cols; ++n) row[n] += row[n - 16];
    }
  }
};

// Reads the [N, K] weight as if it were stored [K, N].
struct TransposedWeight final : CpuBackend {
  void gemm_s8s8s32(ConstMatrix a, ConstMatrix b, MutMatrix acc) override {
    CpuBackend::gemm_s8s8s32(a, b, acc);  // argument checks
    const int64_t n_count = b.rows, k_count = b.cols;
    auto b_as_kn = [&](int64_t k, int64_t n) {
      int64_t flat = k * n_count + n;  // the element a [K, N] layout would hold at (k, n)
      return int32_t(row_of<int8_t>(b, flat / k_count)[flat % k_count]);
    };
    for (int64_t m = 0; m < a.rows; ++m)
      for (int64_t n = 0; n < n_count; ++n) {
        int32_t sum = 0;
        for (int64_t k = 0; k < k_count; ++k) sum += int32_t(row_of<int8_t>(a, m)[k]) * b_as_kn(k, n);
        row_of<int32_t>(acc, m)[n] = sum;
      }
  }
};

// Packs nothing: the "packed" weight keeps a view of b, as a cache keyed on b's address would, so a weight
// changed (or freed) after packing is read as it is now, not as it was packed.
struct PackedWeightViewsB final : CpuBackend {
  struct View final : kernels::PackedGemmWeight {
    explicit View(const ConstMatrix& m) : PackedGemmWeight(m.rows, m.cols), b(m) {}
    ConstMatrix b;
  };
  std::unique_ptr<kernels::PackedGemmWeight> pack_gemm_weight(ConstMatrix b) override {
    CpuBackend::pack_gemm_weight(b);  // argument checks
    return std::make_unique<View>(b);
  }
  void gemm_s8s8s32_packed(ConstMatrix a, const kernels::PackedGemmWeight& b, MutMatrix acc) override {
    CpuBackend::gemm_s8s8s32(a, dynamic_cast<const View&>(b).b, acc);
  }
};

// Leaves out the RMSNorm weight (normalises only).
struct RmsnormWithoutWeight final : CpuBackend {
  void rmsnorm_quantize(ConstMatrix x, ConstVector w, float eps, const ActQuantOptions& o, MutMatrix q,
                        float* scale) override {
    std::vector<uint8_t> ones(std::size_t(w.size) * dtype_size(w.dtype));
    for (int64_t j = 0; j < w.size; ++j) {
      uint8_t* p = ones.data() + std::size_t(j) * dtype_size(w.dtype);
      if (w.dtype == DType::f32) { float one = 1.0f; std::memcpy(p, &one, 4); }
      else { uint16_t one = w.dtype == DType::f16 ? 0x3c00 : 0x3f80; std::memcpy(p, &one, 2); }
    }
    CpuBackend::rmsnorm_quantize(x, ConstVector{ones.data(), w.dtype, w.size}, eps, o, q, scale);
  }
};

// Starts the running min and max at 0 instead of the first value seen.
struct MinMaxStartAtZero final : CpuBackend {
  void channel_stats(ConstMatrix x, kernels::ChannelStatsOut out) override {
    CpuBackend::channel_stats(x, out);
    for (int64_t j = 0; j < x.cols; ++j) {
      out.min[j] = std::min(out.min[j], 0.0f);
      out.max[j] = std::max(out.max[j], 0.0f);
    }
  }
};

// Uses 1 - alpha for the activation exponent and alpha for the weight's.
struct SwappedAlpha final : CpuBackend {
  void smooth_scale(const float* a, const float* w, const float* norm, int64_t c, Recipe recipe, float alpha,
                    float* s, DType arithmetic = DType::f32) override {
    CpuBackend::smooth_scale(a, w, norm, c, recipe, 1.0f - alpha, s, arithmetic);
  }
};

// The migration step multiplies by s instead of dividing.
struct MigrationMultiplies final : CpuBackend {
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    if (!s) return CpuBackend::quantize_per_token(x, s, o, q, scale);
    std::vector<float> inverse(std::size_t(x.cols));
    for (int64_t j = 0; j < x.cols; ++j) inverse[std::size_t(j)] = 1.0f / s[j];
    CpuBackend::quantize_per_token(x, inverse.data(), o, q, scale);
  }
};

// Loses the optional bias on its way to the epilogue.
struct DropsBias final : CpuBackend {
  void gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* sa, const float* sb, ConstVector bias, Epilogue e,
                 MutMatrix out) override {
    CpuBackend::gemm_w8a8(a, b, sa, sb, ConstVector{nullptr, bias.dtype, 0}, e, out);
  }
};

// Codes a NaN element −128 where the saturating store must give 0: fminf(fmaxf(v, −128), 127) without
// cvt.rni.sat's NaN rule (vLLM's float_to_int8_rn, int8_quant_kernels.cu), smoothcheck's own rule
// before vLLM's NaN handling was matched.
struct NanCodedMinus128 final : CpuBackend {
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    CpuBackend::quantize_per_token(x, s, o, q, scale);
    if (o.clamp != Clamp::saturate) return;
    for (int64_t t = 0; t < x.rows; ++t)
      for (int64_t c = 0; c < x.cols; ++c)
        if (std::isnan(load_float(x, t, c))) row_of<int8_t>(q, t)[c] = -128;
  }
};

// Sums each channel in f32, in token order, where numerics.md §1 and the kernel sum in float64.
struct ChannelSumsInF32 final : CpuBackend {
  void channel_stats(ConstMatrix x, kernels::ChannelStatsOut out) override {
    CpuBackend::channel_stats(x, out);
    for (int64_t j = 0; j < x.cols; ++j) {
      float sum = 0.0f, abssum = 0.0f;
      for (int64_t t = 0; t < x.rows; ++t) {
        sum += load_float(x, t, j);
        abssum += std::fabs(load_float(x, t, j));
      }
      if (out.sum) out.sum[j] = sum;
      if (out.abssum) out.abssum[j] = abssum;
    }
  }
};

// The weight statistic of a stacked group (q/k/v, gate/up) from its first fc only (views[0]).
struct WeightStatFirstFcOnly final : CpuBackend {
  void weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                   DType arithmetic = DType::f32) override {
    CpuBackend::weight_stat(fcs, std::min(fc_count, 1), recipe, group_size, w, arithmetic);
  }
};

// lmdeploy's row (group) absmax clamp decided row by row, where awq.py get_weight_scale (lmdeploy 0.18.0,
// lines 150-153) clamps every absmax to 1e-4 only when the smallest of the stack is exactly 0. kAlways:
// every absmax floored at 1e-4 (smoothcheck's rule before issue 13); otherwise only the zero ones.
enum class ClampRule { kAlways, kZerosOnly };
template <ClampRule rule>
struct LmdeployRowClampPerRow final : CpuBackend {
  void weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                   DType arithmetic = DType::f32) override {
    CpuBackend::weight_stat(fcs, fc_count, recipe, group_size, w, arithmetic);  // argument checks
    if (recipe != Recipe::lmdeploy || arithmetic != DType::f32) return;
    const int64_t cols = fcs[0].cols, group = group_size > 0 ? group_size : cols;
    std::vector<double> sum(std::size_t(cols), 0.0);
    int64_t rows = 0;
    for (int i = 0; i < fc_count; ++i)
      for (int64_t r = 0; r < fcs[i].rows; ++r, ++rows)
        for (int64_t g0 = 0; g0 < cols; g0 += group) {
          float m = 0.0f;
          for (int64_t j = g0; j < g0 + group; ++j) m = std::max(m, std::fabs(load_float(fcs[i], r, j)));
          m = rule == ClampRule::kAlways ? std::max(m, 1e-4f) : (m == 0.0f ? 1e-4f : m);
          for (int64_t j = g0; j < g0 + group; ++j)
            sum[std::size_t(j)] += double(std::fabs(load_float(fcs[i], r, j)) / m);
        }
    if (rows == 0) return;
    for (int64_t j = 0; j < cols; ++j) w[j] = float(sum[std::size_t(j)] / double(rows));
  }
};

// lmdeploy's clamp of w' = w^(1-alpha) to 1e-4 decided element by element, where awq.py smooth_ln_fcs /
// smooth_fc_fcs (lmdeploy 0.18.0, lines 187-191 / 241-245) clamp every element only when min(w') is exactly
// 0. Done by raising w to t = 1e-4^(1/(1-alpha)) before the kernel runs (then no w' is 0, so the kernel
// clamps none): kAlways every w below t (the reference's rule before issue 13), otherwise only w = 0 (the
// CPU kernel's).
template <ClampRule rule>
struct LmdeployWPowClampPerElement final : CpuBackend {
  void smooth_scale(const float* a, const float* w, const float* norm, int64_t c, Recipe recipe, float alpha,
                    float* s, DType arithmetic = DType::f32) override {
    const float beta = 1.0f - alpha;
    if (recipe != Recipe::lmdeploy || !(beta > 0.0f))
      return CpuBackend::smooth_scale(a, w, norm, c, recipe, alpha, s, arithmetic);
    const float t = float(std::pow(1e-4, 1.0 / double(beta)));
    std::vector<float> raised(w, w + std::max<int64_t>(c, 0));
    for (float& v : raised) v = rule == ClampRule::kAlways ? std::max(v, t) : (v == 0.0f ? t : v);
    CpuBackend::smooth_scale(a, raised.data(), norm, c, recipe, alpha, s, arithmetic);
  }
};

}  // namespace

std::vector<Mutant> all_mutants() {
  using support::mutant;
  std::vector<Mutant> all = {
      // Realistic bugs that are not about one option.
      mutant<HalfAwayRounding>("half_away_rounding_where_half_even_is_required", "quantize_per_token", "*midpoints*",
                               "codes: q", option_name("Rounding", Rounding::half_even)),
      mutant<MissingClamp>("missing_clamp", "quantize_per_tensor", "*scale_x50pct*", "codes: q",
                           option_name("Clamp", Clamp::saturate)),
      mutant<PerColumnWeightScale>("per_column_instead_of_per_row_weight_scale", "quantize_weight", "o65_*", "bound: scale"),
      mutant<CompressedTensorsEpsAsFloor>("compressed_tensors_eps_as_a_floor", "quantize_weight",
                                          "*/compressed_tensors/tinyrows/*", "bound: scale"),
      mutant<WeightQuantisedInFloat32>("weights_quantised_in_float32_not_their_dtype", "quantize_weight",
                                       "*/bf16/normal/compressed_tensors/*", "codes: q"),
      mutant<SmoothingArithmeticIgnored>("smooth_scale_in_float32_not_the_named_dtype", "smooth_scale", "*/in_bf16/*",
                                         "dtype: s"),
      mutant<SmoothingArithmeticIgnored>("weight_stat_in_float32_not_the_weights_dtype", "weight_stat", "*/in_dtype/*",
                                         "dtype: w"),
      mutant<DividesInsteadOfMultiplies>("divides_by_s_instead_of_multiplying", "apply_smoothing", "scale_columns/r33*",
                                         "exact: w"),
      mutant<MissingVectorTail>("wrong_tail_for_sizes_not_a_multiple_of_8", "quantize_per_token", "t17_c1025*", "codes: q"),
      mutant<SwappedEpilogueScales>("swapped_epilogue_scales", "gemm_w8a8", "m7_*", "bound: out"),
      mutant<StaleAccumulator>("stale_accumulator_between_tiles", "gemm_s8s8s32", "m7_*", "exact: acc"),
      mutant<TransposedWeight>("transposed_weight", "gemm_s8s8s32", "m7_*", "exact: acc"),
      mutant<PackedWeightViewsB>("packed_weight_views_b_instead_of_owning_a_copy", "gemm_s8s8s32", "m7_*/prepacked/*",
                                 "exact: acc"),
      mutant<RmsnormWithoutWeight>("rmsnorm_without_weight", "rmsnorm_quantize", "t9_*", "bound: scale"),
      mutant<MinMaxStartAtZero>("running_min_max_start_at_zero", "channel_stats", "t1_*", "exact: min"),
      mutant<SwappedAlpha>("swapped_alpha", "smooth_scale", "*alpha85pct*", "bound: s"),
      mutant<MigrationMultiplies>("migration_multiplies_by_s", "quantize_per_token", "*migration*", "codes: q"),
      mutant<DropsBias>("drops_the_bias", "gemm_w8a8", "*/bias/*", "bound: out"),
      mutant<NanCodedMinus128>("nan_coded_minus_128_where_saturation_gives_0", "quantize_per_token", "*/vllm/nan_inf/*",
                               "codes: q"),

      // Statistics with less than the numerics they claim.
      mutant<ChannelSumsInF32>("channel_sums_in_f32_where_float64_is_specified", "channel_stats", "t64_*", "bound: mean"),
      mutant<WeightStatFirstFcOnly>("weight_stat_of_the_first_fc_only", "weight_stat", "o64+32+32*", "bound: w"),
      // lmdeploy's all-or-nothing 1e-4 clamps (awq.py) decided per row or per element.
      mutant<LmdeployRowClampPerRow<ClampRule::kAlways>>("lmdeploy_row_clamp_always_applied", "weight_stat",
                                                        "*/lmdeploy/*tinyrows/s*", "bound: w"),
      mutant<LmdeployRowClampPerRow<ClampRule::kZerosOnly>>("lmdeploy_row_clamp_on_zero_rows_only", "weight_stat",
                                                              "*/lmdeploy/*tinyrows/zero*", "bound: w"),
      mutant<LmdeployWPowClampPerElement<ClampRule::kAlways>>("lmdeploy_w_pow_clamp_always_applied", "smooth_scale",
                                                             "*lmdeploy*pct/tinyw/*", "bound: s"),
      mutant<LmdeployWPowClampPerElement<ClampRule::kZerosOnly>>("lmdeploy_w_pow_clamp_on_zeros_only",
                                                                   "smooth_scale", "*lmdeploy*/zeros/tinyw/*",
                                                                   "bound: s"),
  };
  // Each named option of kernels/options.h ignored or swapped for its neighbour (option_mutant_backends.cpp).
  for (Mutant& m : option_mutants()) all.push_back(std::move(m));
  // Bugs that only the runner's shared checks can catch (runner_check_mutants.cpp).
  for (Mutant& m : runner_check_mutants()) all.push_back(std::move(m));
  return all;
}

}  // namespace smoothcheck::mutants
