// Static per-tensor int8 quantisation with a given scale (numerics.md §6, vLLM's static kernel),
// optionally with the migration division fused. Scales below absmax/127 make the clamp matter.
#include <algorithm>
#include <cmath>

#include "cases/case_tables.h"
#include "cases/scale_math_split_cases.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

struct QuantizePerTensorCase final : Case {
  const int64_t tokens, hidden, pad;
  const DType dtype;
  const Distribution distribution;
  const NamedActOptions options;
  const double scale_factor;  // scale = factor * absmax / 127 (a power of two for midpoints)
  const bool migration;
  const uint64_t case_seed;

  QuantizePerTensorCase(int64_t t, int64_t c, int64_t p, DType d, Distribution dist, NamedActOptions o, double f,
                        bool mig, uint64_t s)
      : tokens(t), hidden(c), pad(p), dtype(d), distribution(dist), options(std::move(o)), scale_factor(f),
        migration(mig), case_seed(s) {}

  std::string name() const override {
    return shape_name("t", tokens, "c", hidden, pad) + "/" + to_string(dtype) + "/" + to_string(distribution) + "/" +
           options.name + "/scale_x" + std::to_string(int(scale_factor * 100)) + "pct" +
           (migration ? "/migration" : "") + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return tokens * hidden; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    const bool exact_arithmetic = distribution == Distribution::midpoints;
    std::vector<double> x_values = generate_matrix(tokens, hidden, distribution, derive_seed(case_seed, "x"), dtype);
    std::vector<double> s_values(std::size_t(hidden), 1.0);
    if (migration) s_values = generate_positive_scales(hidden, derive_seed(case_seed, "s"), exact_arithmetic);
    double absmax = 0.0;
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t c = 0; c < hidden; ++c)
        absmax = std::max(absmax, std::fabs(x_values[std::size_t(t * hidden + c)] / s_values[std::size_t(c)]));
    double static_scale = absmax > 0 ? double(float(scale_factor * absmax / 127.0)) : 1.0;
    // A power-of-two scale keeps x / scale exact, so the midpoint distribution's ties stay ties.
    if (exact_arithmetic) static_scale = std::ldexp(1.0, int(std::floor(std::log2(static_scale))));

    const HostTensor& x = tensors.input_matrix("x", dtype, tokens, hidden, pad, x_values);
    const float* s = migration ? tensors.input_vector("migration_scale", DType::f32, s_values).f32() : nullptr;
    const ZeroOutput zero_codes = may_be_all_zero(distribution, tokens) ? ZeroOutput::allowed : ZeroOutput::fails;
    HostTensor& q = tensors.output_matrix("q", DType::i8, tokens, hidden, pad, zero_codes);
    if (!tensors.run_kernel([&] {
          backend.quantize_per_tensor(x.matrix(), s, float(static_scale), options.options, q.mut_matrix());
        }))
      return;

    reference::Quantized ref = reference::quantize_per_tensor(
        to_reference(x), migration ? s_values : reference::Vector{}, static_scale, options.options);
    const std::vector<double> actual_codes = q.to_doubles();
    const double u = unit_roundoff(DType::f32);
    // divide: one rounding; reciprocal: fl(1/scale) and the product; migration: two more.
    const double code_rel = exact_arithmetic ? 0.0 : (migration ? 5 * u : 3 * u);
    compare_codes(r, "q", actual_codes, ref.codes.values, ref.scaled.values, hidden,
                  CodeRule{options.options.rounding, options.options.clamp, false},
                  [&](std::size_t i) { return code_rel * std::fabs(ref.scaled.values[i]); });
    r.keep("static_scale", {1}, {static_scale});
    r.keep("expected_q", {tokens, hidden}, std::move(ref.codes.values));
  }
};

CaseList quantize_per_tensor_table() {
  CaseList cases;
  auto add = [&](int64_t t, int64_t c, int64_t pad, DType d, Distribution dist, const NamedActOptions& o, double f,
                 bool mig, uint64_t seed) {
    cases.push_back(std::make_unique<QuantizePerTensorCase>(t, c, pad, d, dist, o, f, mig, seed));
  };
  const DType dtypes[] = {DType::f32, DType::f16, DType::bf16};
  for (int64_t c : hidden_sizes())
    for (DType d : dtypes)
      for (bool mig : {false, true}) add(7, c, c % 2 ? 5 : 0, d, Distribution::outlier_channels, preset_vllm_static(), 1.0, mig, 1);
  // Scales below absmax / 127 saturate (or wrap, without the clamp); above, they leave headroom.
  for (Distribution dist : all_distributions())
    for (const NamedActOptions& o : all_act_option_combinations())
      for (double f : {0.5, 1.0, 1.5}) add(17, 1026, 2, DType::bf16, dist, o, f, dist == Distribution::outlier_channels, 2);
  add(4096, 4096, 0, DType::bf16, Distribution::outlier_channels, preset_vllm_static(), 0.8, false, 3);
  // Rows where divide and reciprocal-multiply give different codes (cases/scale_math_split_cases.cpp).
  append_per_tensor_scale_math_rows(cases);
  return cases;
}

const CaseTableRegistration quantize_per_tensor_registration{"quantize_per_tensor", quantize_per_tensor_table};

}  // namespace
}  // namespace smoothcheck::cases
