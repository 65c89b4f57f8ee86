// Per-output-channel symmetric int8 weight quantisation, the three variants of numerics.md §5.
#include <algorithm>
#include <cmath>

#include "cases/case_tables.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

struct QuantizeWeightCase final : Case {
  const int64_t out_features, in_features, pad;
  const DType dtype;
  const Distribution distribution;
  const WeightQuant variant;
  const uint64_t case_seed;
  // Every other row scaled by 2^-24 (absmax ~1e-7): below compressed-tensors' 127.5·eps and the
  // authors' 1e-5 floor, where an eps used as a floor instead of a zero replacement shows.
  const bool tiny_rows;

  QuantizeWeightCase(int64_t o, int64_t i, int64_t p, DType d, Distribution dist, WeightQuant v, uint64_t s,
                     bool tiny = false)
      : out_features(o), in_features(i), pad(p), dtype(d), distribution(dist), variant(v), case_seed(s), tiny_rows(tiny) {}

  std::string name() const override {
    return shape_name("o", out_features, "i", in_features, pad) + "/" + to_string(dtype) + "/" +
           to_string(distribution) + "/" + to_string(variant) + (tiny_rows ? "/tinyrows" : "") + "/" +
           seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return out_features * in_features; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    std::vector<double> w_values =
        generate_matrix(out_features, in_features, distribution, derive_seed(case_seed, "w"), dtype);
    // Midpoint rows have absmax 127 * 2^e and every other element (k + 0.5) * 2^e. compressed-tensors divides
    // by absmax / 127.5, so its rows get absmax 127.5 * 2^e instead (255 / 2: exact in bf16): the scale is
    // then 2^e, w / scale = k + 0.5 exactly, and the row's ends are the ties +-127.5 its clamp decides.
    if (distribution == Distribution::midpoints && variant == WeightQuant::compressed_tensors)
      for (int64_t o = 0; o < out_features; ++o) {
        double* row = w_values.data() + o * in_features;
        double absmax = 0.0;
        for (int64_t i = 0; i < in_features; ++i) absmax = std::max(absmax, std::fabs(row[i]));
        for (int64_t i = 0; i < in_features; ++i)
          if (std::fabs(row[i]) == absmax) row[i] = std::copysign(absmax / 127.0 * 127.5, row[i]);  // exact: absmax / 127 = 2^e
      }
    if (tiny_rows)
      for (int64_t o = 1; o < out_features; o += 2)
        for (int64_t i = 0; i < in_features; ++i) w_values[std::size_t(o * in_features + i)] *= 0x1p-24;  // exact
    const HostTensor& w = tensors.input_matrix("w", dtype, out_features, in_features, pad, w_values);
    const ZeroOutput zero_codes = may_be_all_zero(distribution, out_features) ? ZeroOutput::allowed : ZeroOutput::fails;
    HostTensor& q = tensors.output_matrix("q", DType::i8, out_features, in_features, pad, zero_codes);
    HostTensor& scale = tensors.output_vector("scale", DType::f32, out_features, ZeroOutput::allowed);
    if (!tensors.run_kernel([&] { backend.quantize_weight(w.matrix(), variant, q.mut_matrix(), scale.f32()); })) return;

    // The authors' fake quant and compressed-tensors divide in a f16/bf16 weight's own dtype (numerics.md
    // §5): the scale and every quotient are rounded to it, which moves codes by one wherever a quotient
    // rounds across a half. Constant f32 rows: under compressed-tensors every exact value is a tie
    // (+-127.5), so the f32 roundings of the scale and of w / scale decide each code, and whole rows would
    // otherwise pass as "off by one at a midpoint". In both, the reference models the quantisers' own
    // roundings step by step (reference::quantize_weight_stepwise) and scales and codes get zero
    // allowance (the reference's own tests hold that model to the ideal).
    const DType arithmetic = reference::weight_arithmetic_dtype(variant, dtype);
    const bool stepwise = arithmetic != DType::f32 || (distribution == Distribution::constant_rows && dtype == DType::f32);
    reference::Quantized ref = stepwise ? reference::quantize_weight_stepwise(to_reference(w), variant, dtype)
                                        : reference::quantize_weight(to_reference(w), variant);
    const std::vector<double> actual_scale = scale.to_doubles(), actual_codes = q.to_doubles();
    const double u = unit_roundoff(DType::f32);
    compare_within_bound(r, "scale", actual_scale, ref.scale, out_features,
                         [&](std::size_t i) { return stepwise ? 0.0 : 2 * u * std::fabs(ref.scale[i]); });
    // Midpoint rows: every variant's scale is 2^e (absmax / 127, or 127.5 * 2^e / 127.5) and w / scale is
    // exact, so ties must follow the rounding (and compressed-tensors' clamp) with zero allowance.
    const bool exact_arithmetic = distribution == Distribution::midpoints;
    const double code_rel = exact_arithmetic || stepwise ? 0.0 : 3 * u;  // fl(scale), then fl(w / scale)
    const CodeRule rule = weight_code_rule(variant);
    compare_codes(r, "q", actual_codes, ref.codes.values, ref.scaled.values, in_features, rule,
                  [&](std::size_t i) { return code_rel * std::fabs(ref.scaled.values[i]); });
    r.keep("expected_q", {out_features, in_features}, std::move(ref.codes.values));
    r.keep("expected_scale", {out_features}, std::move(ref.scale));
  }
};

CaseList quantize_weight_table() {
  CaseList cases;
  auto add = [&](int64_t o, int64_t i, int64_t pad, DType d, Distribution dist, WeightQuant v, uint64_t seed) {
    cases.push_back(std::make_unique<QuantizeWeightCase>(o, i, pad, d, dist, v, seed));
  };
  const WeightQuant variants[] = {WeightQuant::lmdeploy, WeightQuant::smoothquant, WeightQuant::compressed_tensors};
  for (int64_t c : hidden_sizes())
    for (DType d : {DType::f32, DType::f16, DType::bf16})
      for (WeightQuant v : variants) add(c >= 4096 ? 16 : 33, c, c % 2 ? 3 : 0, d, Distribution::normal, v, 1);
  for (Distribution dist : all_distributions())
    for (DType d : {DType::f32, DType::f16, DType::bf16})
      for (WeightQuant v : variants) add(65, 1025, 1, d, dist, v, 2);
  for (DType d : {DType::f32, DType::bf16})
    for (WeightQuant v : variants)
      cases.push_back(std::make_unique<QuantizeWeightCase>(9, 33, 1, d, Distribution::normal, v, 4, /*tiny=*/true));
  // The LLaMA-2-7B linears: q/k/v/o (4096x4096), gate/up (11008x4096), down (4096x11008).
  add(4096, 4096, 0, DType::f16, Distribution::normal, WeightQuant::lmdeploy, 3);
  add(11008, 4096, 0, DType::bf16, Distribution::outlier_channels, WeightQuant::compressed_tensors, 3);
  add(4096, 11008, 0, DType::f16, Distribution::heavy_tail, WeightQuant::smoothquant, 3);
  return cases;
}

const CaseTableRegistration quantize_weight_registration{"quantize_weight", quantize_weight_table};

}  // namespace
}  // namespace smoothcheck::cases
