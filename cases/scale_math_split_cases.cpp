// ScaleMath rows: in exact arithmetic x * (127 / absmax) and x / (absmax / 127) are one number, so the
// float64 reference alone cannot tell a kernel that divides from one that multiplies by the reciprocal;
// the ordinary rows allow an off-by-one near midpoints for exactly that reason. Here every element is
// chosen (harness/differential/exact_input_generators.h) where the two f32 results straddle a midpoint, and the codes
// are compared with zero allowance against reference::quantize_per_token_f32 / quantize_per_tensor_f32,
// which model the named formula's f32 steps. The inputs are f32: f16/bf16 loads are exact, so the
// arithmetic after the load is the same, while their coarser grid rarely lands within an f32 ulp of a
// midpoint.
#include "cases/scale_math_split_cases.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "harness/differential/case_helpers.h"
#include "harness/differential/compare.h"
#include "harness/differential/exact_input_generators.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

// Inputs and their scale: per token (one absmax per row, so the scale is the kernel's own), or per tensor
// (one static scale for all rows).
struct SplitInputs {
  std::vector<double> x;
  double static_scale = 0.0;  // per tensor only
};

SplitInputs make_split_inputs(int64_t tokens, int64_t hidden, uint64_t seed, bool per_tensor) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> magnitude(0.5, 8.0);
  std::uniform_int_distribution<int64_t> pick(0, hidden - 1);
  SplitInputs in;
  in.x.assign(std::size_t(tokens * hidden), 0.0);
  for (int attempt = 0;; ++attempt) {
    if (attempt > 1000) throw std::runtime_error("scale_math_split_cases: no scale with splits found");
    bool complete = true;
    const double tensor_absmax = double(float(magnitude(rng)));
    // vLLM's static kernel: the scale calibrated as absmax / 127 and stored in f32.
    if (per_tensor) in.static_scale = double(float(tensor_absmax / 127.0));
    for (int64_t t = 0; t < tokens && complete; ++t) {
      std::vector<double> row;
      for (int row_attempt = 0; row_attempt < 100 && int64_t(row.size()) < hidden; ++row_attempt) {
        const double absmax = per_tensor ? tensor_absmax : double(float(magnitude(rng)));
        // The f32 scale and reciprocal the kernel forms (numerics.md §6): absmax / 127 and 127 / absmax per
        // token; the static scale and 1 / scale per tensor.
        const double scale = per_tensor ? in.static_scale : double(float(absmax / 127.0));
        const double reciprocal = per_tensor ? double(float(1.0 / in.static_scale)) : double(float(127.0 / absmax));
        row = scale_math_split_values(scale, reciprocal, absmax, hidden,
                                      derive_seed(seed, "row" + std::to_string(t) + "/" + std::to_string(row_attempt)));
        if (int64_t(row.size()) == hidden) row[std::size_t(pick(rng))] = (t % 2 ? -absmax : absmax);  // the absmax itself
        if (per_tensor) break;  // one scale for every row: a failed row means another tensor absmax
      }
      if (int64_t(row.size()) < hidden) { complete = false; break; }
      for (int64_t c = 0; c < hidden; ++c) in.x[std::size_t(t * hidden + c)] = row[std::size_t(c)];
    }
    if (complete) return in;
  }
}

// How many elements the two formulas quantise differently under the case's rounding: the evidence that
// the row can tell them apart (recorded as a metric; a row without any would prove nothing).
bool require_splits(CaseResult& r, const std::vector<double>& x, const std::vector<double>& row_scale,
                    const std::vector<double>& row_reciprocal, int64_t hidden, Rounding rounding) {
  int64_t splits = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (row_scale[i / std::size_t(hidden)] > 0 &&
        scale_math_splits(x[i], row_scale[i / std::size_t(hidden)], row_reciprocal[i / std::size_t(hidden)], rounding))
      ++splits;
  r.metric("q/scale_math_splits", double(splits));
  if (splits > 0) return true;
  r.fail("inputs", "no element where divide and reciprocal-multiply give different codes: the row proves nothing");
  return false;
}

struct ScaleMathSplitCase final : Case {
  const int64_t tokens, hidden, pad;
  const NamedActOptions options;
  const bool per_tensor;
  const uint64_t case_seed;

  ScaleMathSplitCase(int64_t t, int64_t c, int64_t p, NamedActOptions o, bool tensor, uint64_t s)
      : tokens(t), hidden(c), pad(p), options(std::move(o)), per_tensor(tensor), case_seed(s) {}

  std::string name() const override {
    return shape_name("t", tokens, "c", hidden, pad) + "/f32/scale_math_split/" + options.name + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return tokens * hidden; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    const SplitInputs in = make_split_inputs(tokens, hidden, derive_seed(case_seed, "x"), per_tensor);
    const HostTensor& x = tensors.input_matrix("x", DType::f32, tokens, hidden, pad, in.x);
    HostTensor& q = tensors.output_matrix("q", DType::i8, tokens, hidden, pad, ZeroOutput::fails);
    // Per tensor the scale is the case's own (in.static_scale): the kernel writes none.
    HostTensor* scale = per_tensor ? nullptr : &tensors.output_vector("scale", DType::f32, tokens, ZeroOutput::allowed);
    if (!tensors.run_kernel([&] {
          if (per_tensor)
            backend.quantize_per_tensor(x.matrix(), nullptr, float(in.static_scale), options.options, q.mut_matrix());
          else
            backend.quantize_per_token(x.matrix(), nullptr, options.options, q.mut_matrix(), scale->f32());
        }))
      return;

    reference::Quantized ref = per_tensor ? reference::quantize_per_tensor_f32(to_reference(x), in.static_scale, options.options)
                                          : reference::quantize_per_token_f32(to_reference(x), options.options);
    // The f32 scale and reciprocal each row is quantised with, for the evidence that the rows split.
    std::vector<double> row_scale(static_cast<std::size_t>(tokens)), row_reciprocal(static_cast<std::size_t>(tokens));
    for (int64_t t = 0; t < tokens; ++t) {
      double absmax = 0.0;
      for (int64_t c = 0; c < hidden; ++c) absmax = std::max(absmax, std::fabs(in.x[std::size_t(t * hidden + c)]));
      row_scale[std::size_t(t)] = per_tensor ? in.static_scale : double(float(absmax / 127.0));
      row_reciprocal[std::size_t(t)] = per_tensor ? double(float(1.0 / in.static_scale)) : double(float(127.0 / absmax));
    }
    require_splits(r, in.x, row_scale, row_reciprocal, hidden, options.options.rounding);
    // The scale is one correctly rounded f32 division on either side: bit-exact.
    if (!per_tensor) compare_exact(r, "scale", scale->to_doubles(), ref.scale, tokens);
    // Zero allowance: the named formula's f32 result decides every code, ties included.
    compare_codes(r, "q", q.to_doubles(), ref.codes.values, ref.scaled.values, hidden,
                  CodeRule{options.options.rounding, options.options.clamp, false}, [](std::size_t) { return 0.0; });
    r.keep("expected_q", {tokens, hidden}, std::move(ref.codes.values));
    r.keep("expected_scaled_f32", {tokens, hidden}, std::move(ref.scaled.values));
  }
};

void append_rows(CaseList& cases, bool per_tensor) {
  // Every rounding x math x clamp x zero-row combination: 7 tokens of 37 channels (a vector body and a
  // tail), padded rows.
  for (const NamedActOptions& o : all_act_option_combinations())
    cases.push_back(std::make_unique<ScaleMathSplitCase>(7, 37, 3, o, per_tensor, 6));
}

}  // namespace

void append_per_token_scale_math_rows(CaseList& cases) { append_rows(cases, false); }
void append_per_tensor_scale_math_rows(CaseList& cases) { append_rows(cases, true); }

}  // namespace smoothcheck::cases
