// Dynamic per-token int8 quantisation (numerics.md §6), optionally with the migration division fused.
#include <cmath>

#include "cases/case_tables.h"
#include "cases/scale_math_split_cases.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

// NaN and ±inf written over generated rows, at the kernel level (harness/checked_ops.h refuses them at
// the front door). vLLM's dynamic_scaled_int8_quant_kernel (int8_quant_kernels.cu): fmaxf skips NaN
// in the absmax and cvt.rni.sat gives a NaN element code 0; a row holding ±inf has absmax inf,
// 127 / inf = 0 and every code 0; an all-NaN row is a zero row. Every option set gives the same codes
// here (kernels/numerics.h store_int8), each through its own scale rule. Rows: 0 NaN in the vector
// body and in the tail; 1 +inf; 2 -inf and NaN; 3 all NaN; the rest as generated.
void write_nan_inf_rows(std::vector<double>& x, int64_t tokens, int64_t hidden) {
  const double nan = std::nan(""), inf = INFINITY;
  auto at = [&](int64_t t, int64_t c) -> double& { return x[std::size_t(t * hidden + c)]; };
  at(0, 1 % hidden) = nan;
  at(0, hidden - 1) = nan;
  if (tokens > 1) at(1, hidden / 2) = inf;
  if (tokens > 2) {
    at(2, 0) = -inf;
    at(2, hidden - 1) = nan;
  }
  if (tokens > 3)
    for (int64_t c = 0; c < hidden; ++c) at(3, c) = nan;
}

struct QuantizePerTokenCase final : Case {
  const int64_t tokens, hidden, pad;
  const DType dtype;
  const Distribution distribution;
  const NamedActOptions options;
  const bool migration;
  const uint64_t case_seed;
  const bool nan_inf;  // write_nan_inf_rows over the generated values

  QuantizePerTokenCase(int64_t t, int64_t c, int64_t p, DType d, Distribution dist, NamedActOptions o, bool mig,
                       uint64_t s, bool nonfinite = false)
      : tokens(t), hidden(c), pad(p), dtype(d), distribution(dist), options(std::move(o)), migration(mig), case_seed(s),
        nan_inf(nonfinite) {}

  std::string name() const override {
    return shape_name("t", tokens, "c", hidden, pad) + "/" + to_string(dtype) + "/" + to_string(distribution) + "/" +
           options.name + (migration ? "/migration" : "") + (nan_inf ? "/nan_inf" : "") + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return tokens * hidden; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    // Midpoint cases use power-of-two migration scales, so x / s is exact and ties stay ties.
    const bool exact_arithmetic = distribution == Distribution::midpoints;
    std::vector<double> x_values = generate_matrix(tokens, hidden, distribution, derive_seed(case_seed, "x"), dtype);
    std::vector<double> s_values;
    if (migration) {
      s_values = generate_positive_scales(hidden, derive_seed(case_seed, "s"), exact_arithmetic);
      if (exact_arithmetic)  // build x = y * s so that x / s has the midpoint structure
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t c = 0; c < hidden; ++c) {
            double& v = x_values[std::size_t(t * hidden + c)];
            v = representable(v * s_values[std::size_t(c)], dtype);
          }
    }
    if (nan_inf) write_nan_inf_rows(x_values, tokens, hidden);
    const HostTensor& x = tensors.input_matrix("x", dtype, tokens, hidden, pad, x_values);
    const float* s = migration ? tensors.input_vector("migration_scale", DType::f32, s_values).f32() : nullptr;
    const ZeroOutput zero_codes = may_be_all_zero(distribution, tokens) ? ZeroOutput::allowed : ZeroOutput::fails;
    HostTensor& q = tensors.output_matrix("q", DType::i8, tokens, hidden, pad, zero_codes);
    HostTensor& scale = tensors.output_vector("scale", DType::f32, tokens, ZeroOutput::allowed);
    if (!tensors.run_kernel([&] { backend.quantize_per_token(x.matrix(), s, options.options, q.mut_matrix(), scale.f32()); }))
      return;

    reference::Quantized ref =
        reference::quantize_per_token(to_reference(x), migration ? s_values : reference::Vector{}, options.options);
    const std::vector<double> actual_scale = scale.to_doubles(), actual_codes = q.to_doubles();
    const double u = unit_roundoff(DType::f32);
    // scale = absmax / 127 rounded once (u); with migration the absmax is of x * fl(1/s), two roundings more.
    const double scale_rel = migration ? 4 * u : u;
    compare_within_bound(r, "scale", actual_scale, ref.scale, tokens,
                         [&](std::size_t i) { return scale_rel * std::fabs(ref.scale[i]); });
    // The kernel's v = x * fl(127/absmax) or x / fl(absmax/127): the scale's rounding and one more (2u);
    // migration adds fl(1/s) and x * (1/s) (2u).
    const double code_rel = exact_arithmetic ? 0.0 : (migration ? 6 * u : 3 * u);
    compare_codes(r, "q", actual_codes, ref.codes.values, ref.scaled.values, hidden,
                  CodeRule{options.options.rounding, options.options.clamp, false},
                  [&](std::size_t i) { return code_rel * std::fabs(ref.scaled.values[i]); });
    r.keep("expected_q", {tokens, hidden}, std::move(ref.codes.values));
    r.keep("expected_scale", {tokens}, std::move(ref.scale));
  }
};

CaseList quantize_per_token_table() {
  CaseList cases;
  auto add = [&](int64_t t, int64_t c, int64_t pad, DType d, Distribution dist, const NamedActOptions& o, bool mig,
                 uint64_t seed) {
    cases.push_back(std::make_unique<QuantizePerTokenCase>(t, c, pad, d, dist, o, mig, seed));
  };
  auto add_nan_inf = [&](int64_t t, int64_t c, int64_t pad, DType d, const NamedActOptions& o, bool mig) {
    cases.push_back(std::make_unique<QuantizePerTokenCase>(t, c, pad, d, Distribution::outlier_channels, o, mig, 5, true));
  };
  const DType dtypes[] = {DType::f32, DType::f16, DType::bf16};
  // Every hidden size (vector heads and tails) and token count, every dtype, plain and migration.
  for (int64_t c : hidden_sizes())
    for (int64_t t : {1, 7, 64})
      for (DType d : dtypes)
        for (bool mig : {false, true}) add(t, c, c % 2 ? 3 : 0, d, Distribution::outlier_channels, preset_vllm_dynamic(), mig, 1);
  // Every distribution x every option combination x dtype at a shape with tails and padded rows.
  for (Distribution dist : all_distributions())
    for (const NamedActOptions& o : all_act_option_combinations())
      for (DType d : dtypes) add(17, 1025, 3, d, dist, o, dist == Distribution::midpoints || dist == Distribution::outlier_channels, 2);
  // The implementations' presets at a LLaMA-2-7B width.
  for (const NamedActOptions& o : {preset_vllm_dynamic(), preset_trtllm(), preset_lmdeploy_triton()})
    for (Distribution dist : all_distributions()) add(16, 4096, 0, DType::bf16, dist, o, false, 3);
  // Production-sized rows: 4096 tokens x 4096 and the down_proj input width.
  add(4096, 4096, 0, DType::bf16, Distribution::outlier_channels, preset_vllm_dynamic(), true, 4);
  add(512, 11008, 0, DType::f16, Distribution::heavy_tail, preset_vllm_dynamic(), false, 4);
  // NaN and ±inf (write_nan_inf_rows) under every option combination, plain and migration, with vector
  // tails and padded rows; and vLLM's preset at a row narrower than one vector.
  for (const NamedActOptions& o : all_act_option_combinations())
    for (DType d : dtypes)
      for (bool mig : {false, true}) add_nan_inf(7, 1025, 3, d, o, mig);
  for (DType d : dtypes) add_nan_inf(5, 7, 1, d, preset_vllm_dynamic(), false);
  // Rows where divide and reciprocal-multiply give different codes (cases/scale_math_split_cases.cpp).
  append_per_token_scale_math_rows(cases);
  return cases;
}

const CaseTableRegistration quantize_per_token_registration{"quantize_per_token", quantize_per_token_table};

}  // namespace
}  // namespace smoothcheck::cases
