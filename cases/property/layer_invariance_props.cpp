// Property 2: smoothing a whole LLaMA decoder layer with lmdeploy's mapping (numerics.md §4) leaves its
// output unchanged, fused or migration, with and without grouped-query attention; the same fused
// norm smoothing on a post-LN BERT block changes the output (and harness/smoothing_plan says why).
//
// The smoothing itself is applied by the implementation under test (scale_columns on the fcs,
// divide_rows on the fc before s and on the norm weight as a [C, 1] matrix), in float64 on the
// reference, in float32 on the reference and every backend; the layer then runs in that arithmetic.
//  - float64: the change must be ≤ 1e-9 · max|y| (observed ~1e-15: only f64 roundings remain).
//  - float32 (FlashAttention's rule, design.md): error(smoothed f32 layer, f64 layer) ≤
//    2 · error(unsmoothed f32 layer, f64 layer) + 4 · Σ_linears (2u + 2γ_K) · M_linear,
//    where the sum is §8's bound for the weight/activation roundings smoothing adds at each linear
//    (M = max_n Σ_k |x_k||w_nk| of that linear), and the factor 4 covers their propagation through
//    RoPE, softmax, SwiGLU and the residual (each Lipschitz ≤ ~1 at these magnitudes, 2 for SwiGLU's
//    product of two perturbed linears, and the residual adds the attention half's error to the MLP's).
#include <cmath>

#include "cases/property/decoder_blocks.h"
#include "cases/property/property_generators.h"
#include "cases/property/property_support.h"

namespace smoothcheck::property {
namespace {

double max_abs_diff(const Matrix& a, const Matrix& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) m = std::fmax(m, std::fabs(a.values[i] - b.values[i]));
  return m;
}

// Applies every group of the plan with the runner's kernels, in dtype; returns the runtime divisors
// (migration mode) for the forward pass.
RuntimeDivisors apply_plan(StepRunner& runner, const BlockGraph& graph, const SmoothingPlan& plan, BlockWeights& w,
                           const PositiveScales& scales, DType dtype) {
  RuntimeDivisors divisors;
  for (const SmoothingGroup& g : plan.groups) {
    const int64_t C = graph.linears.at(g.fcs.front()).in_features;
    const Vector s = PositiveScales{derive_seed(scales.seed, g.source), scales.powers_of_two}.values(C);
    for (const std::string& fc : g.fcs) {
      w.linears[fc] = runner.scale_columns(w.linears.at(fc), s, dtype);
      if (plan.mode == SmoothMode::migration) divisors[fc] = s;
    }
    if (plan.mode == SmoothMode::migration) continue;
    if (g.kind == SourceKind::norm) {
      for (auto* vectors : {&w.norm_weights, &w.norm_biases}) {
        auto it = vectors->find(g.source);
        if (it == vectors->end()) continue;
        it->second = runner.divide_rows(matrix_of(C, 1, it->second), s, dtype).values;
      }
    } else {
      w.linears[g.source] = runner.divide_rows(w.linears.at(g.source), s, dtype);
    }
  }
  return divisors;
}

using PlanApplier = RuntimeDivisors (*)(StepRunner&, const BlockGraph&, const SmoothingPlan&, BlockWeights&,
                                        const PositiveScales&, DType);

void llama_layer_invariance_with(PlanApplier applier, StepRunner& runner, const BlockDims& d, SmoothMode mode,
                                 const PositiveScales& scales, uint64_t weight_seed) {
  const DType dtype = runner.supports(DType::f64) ? *rc::gen::element(DType::f64, DType::f32).as("arithmetic") : DType::f32;
  const int64_t T = *rc::gen::inRange<int64_t>(1, 7).as("tokens");
  RC_TAG(to_string(mode), d.kv_heads < d.heads ? "gqa" : "mha", to_string(dtype));
  const BlockGraph graph = llama_block_graph(d);
  const SmoothingPlan plan = llama_smoothing_plan(d, mode);
  const PlanValidation validation = validate_smoothing_plan(graph, plan);
  RC_ASSERT(validation.valid());

  BlockWeights base = random_llama_weights(d, weight_seed);
  if (dtype == DType::f32) base = rounded_to_f32(base);
  const Matrix x = matrix_of(T, d.hidden, generate_matrix(T, d.hidden, Distribution::outlier_channels,
                                                          derive_seed(weight_seed, "x"), dtype));
  BlockWeights smoothed = base;
  const RuntimeDivisors divisors = applier(runner, graph, plan, smoothed, scales, dtype);

  LinearMagnitudes magnitudes;
  const Matrix y64 = llama_layer_forward<double>(d, base, x, {}, &magnitudes);
  const double scale = std::fmax(max_abs(y64.values), 1.0);
  if (dtype == DType::f64) {
    const Matrix ys = llama_layer_forward<double>(d, smoothed, x, divisors);
    const double change = max_abs_diff(ys, y64);
    RC_CLASSIFY(change > 1e-13 * scale, "f64 change above 1e-13");
    RC_ASSERT(change <= 1e-9 * scale);
    return;
  }
  const Matrix y32 = llama_layer_forward<float>(d, base, x, {});
  const Matrix ys32 = llama_layer_forward<float>(d, smoothed, x, divisors);
  const double u = unit_roundoff(DType::f32);
  double smoothing_terms = 0;
  for (const auto& [name, m] : magnitudes)
    smoothing_terms += (2 * u + 2 * gamma_k(graph.linears.at(name).in_features, u)) * m;
  const double bound = 2 * max_abs_diff(y32, y64) + 4 * smoothing_terms;
  const double err = max_abs_diff(ys32, y64);
  RC_CLASSIFY(err > bound / 4, "f32 error above a quarter of the bound");
  RC_ASSERT(err <= bound);
}

void llama_layer_is_invariant(StepRunner& runner, const BlockDims& d, SmoothMode mode, const PositiveScales& scales,
                              uint64_t weight_seed) {
  llama_layer_invariance_with(&apply_plan, runner, d, mode, scales, weight_seed);
}

// The post-LN block: the validator refuses lmdeploy-style fused norm smoothing, and numerically the
// output does change (its LayerNorm output is also the residual that reaches the second LayerNorm).
using PlanValidator = PlanValidation (*)(const BlockGraph&, const SmoothingPlan&);
void post_layer_norm_fused_smoothing_is_refused(PlanValidator validate, const BlockDims& dims, uint64_t seed) {
  BlockDims d = dims;
  d.kv_heads = d.heads;  // BERT has no GQA
  // LayerNorm over two channels outputs ±weight + bias whatever the input: no change is visible there.
  if (d.hidden < 4) d.hidden = 4 * d.heads;
  const BlockGraph graph = bert_block_graph(d);
  const SmoothingPlan plan = bert_fused_smoothing_plan(d);
  const PlanValidation validation = validate(graph, plan);
  RC_ASSERT(!validation.valid());
  RC_ASSERT(validation.message().find("attention.output.LayerNorm") != std::string::npos);

  // Numerically: only the norm group (the one at issue), in float64 where valid changes stay ≤ 1e-9.
  SmoothingPlan norm_only = plan;
  norm_only.groups = {plan.groups.front()};
  const int64_t T = *rc::gen::inRange<int64_t>(1, 7).as("tokens");
  const BlockWeights base = random_bert_weights(d, seed);
  BlockWeights smoothed = base;
  auto reference = reference_runner();
  apply_plan(*reference, graph, norm_only, smoothed, PositiveScales{seed ^ 0xabcdefu, false}, DType::f64);
  const Matrix x = matrix_of(T, d.hidden, generate_matrix(T, d.hidden, Distribution::normal, derive_seed(seed, "x"), DType::f64));
  const Matrix y = bert_block_forward<double>(d, base, x), ys = bert_block_forward<double>(d, smoothed, x);
  RC_ASSERT(max_abs_diff(ys, y) > 1e-6 * std::fmax(max_abs(y.values), 1.0));
}

}  // namespace

SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(LlamaLayerInvariance, llama_layer_is_invariant);

SMOOTHCHECK_RC_PROPERTY(PostLayerNormSmoothing, FusedNormSmoothingIsReportedInvalidAndBreaksInvariance,
                        (const BlockDims& dims, uint64_t seed)) {
  post_layer_norm_fused_smoothing_is_refused(&validate_smoothing_plan, dims, seed);
}

// Can fail: an applier that smooths o_proj's columns but forgets to divide v_proj's rows (fc -> fc
// half-applied), the classic fused-smoothing bug.
namespace {
RuntimeDivisors apply_plan_forgetting_previous_fc(StepRunner& runner, const BlockGraph& graph, const SmoothingPlan& plan,
                                                  BlockWeights& w, const PositiveScales& scales, DType dtype) {
  RuntimeDivisors divisors = apply_plan(runner, graph, plan, w, scales, dtype);
  for (const SmoothingGroup& g : plan.groups) {
    if (plan.mode != SmoothMode::fused || g.kind != SourceKind::linear) continue;
    const int64_t C = graph.linears.at(g.fcs.front()).in_features;
    const Vector s = PositiveScales{derive_seed(scales.seed, g.source), scales.powers_of_two}.values(C);
    Vector inverse(s.size());
    for (std::size_t j = 0; j < s.size(); ++j) inverse[j] = 1.0 / s[j];
    w.linears[g.source] = runner.divide_rows(w.linears.at(g.source), inverse, dtype);  // undoes the division
  }
  return divisors;
}
}  // namespace

SMOOTHCHECK_TWIN_OF(LlamaLayerInvariance, CatchesFcToFcSmoothingWithoutDividingThePreviousFc) {
  auto reference = reference_runner();
  expect_counterexample("previous_fc_not_divided", [&](const BlockDims& d, const PositiveScales& scales, uint64_t seed) {
    llama_layer_invariance_with(&apply_plan_forgetting_previous_fc, *reference, d, SmoothMode::fused, scales, seed);
  });
}

// Can fail: a validator that accepts every plan (none of the residual, reader or linearity checks)
// passes BERT's fused norm smoothing, although the LayerNorm output is also the residual.
namespace {
PlanValidation validator_accepting_every_plan(const BlockGraph&, const SmoothingPlan&) { return {}; }
}  // namespace

SMOOTHCHECK_TWIN_OF_TEST(PostLayerNormSmoothing, FusedNormSmoothingIsReportedInvalidAndBreaksInvariance,
                         CatchesAValidatorAcceptingEveryPlan) {
  expect_counterexample("validator_accepting_every_plan", [](const BlockDims& dims, uint64_t seed) {
    post_layer_norm_fused_smoothing_is_refused(&validator_accepting_every_plan, dims, seed);
  });
}

}  // namespace smoothcheck::property
