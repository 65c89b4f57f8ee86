// The comparison tiers (design.md): guards untouched, then the NaN/Inf pattern, then the tier's metric.
// Every function records a failure in the CaseResult when its check fails and returns whether it passed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "harness/differential/host_tensor.h"
#include "harness/differential/outcome.h"

namespace smoothcheck {

// Unit roundoff of an arithmetic (numerics.md §8): 2^-24 f32, 2^-11 f16, 2^-8 bf16, 2^-53 f64.
double unit_roundoff(DType dtype);

bool check_guards(CaseResult& r, const std::string& tensor, const HostTensor& t);
bool check_unmodified(CaseResult& r, const std::string& tensor, uint64_t checksum_before, const HostTensor& t);
// CUTLASS: an all-zero tensor would let a kernel that writes nothing pass.
bool check_not_all_zero(CaseResult& r, const std::string& tensor, const std::vector<double>& values);
bool check_finite_pattern(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                          const std::vector<double>& expected);

// Bit-exact: integer accumulators, and values that both sides compute by identical numerics.
bool compare_exact(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                   const std::vector<double>& expected, int64_t cols);

// |actual - expected| <= bound(i) for every element; records max |err| / bound as "<tensor>/max_err_over_bound".
bool compare_within_bound(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                          const std::vector<double>& expected, int64_t cols,
                          const std::function<double(std::size_t)>& bound);

// Values rounded once to dtype from an f32 computation of relative error rel: each element equals the
// reference's correctly rounded value, or its other dtype neighbour where the exact value lies within rel
// of a rounding boundary (double rounding through f32); those are counted and noted, anything else fails.
bool compare_rounded(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                     const std::vector<double>& expected_rounded, const std::vector<double>& exact, int64_t cols,
                     DType dtype, double rel);

// Values the named computation rounds to dtype from f32 arithmetic: each element must equal the reference's
// correctly rounded value of that computation (expected_rounded), with zero slack, except where the exact
// intermediate lies within the f32 error of a rounding boundary: there the kernel may land on the value the
// computation gives at the other end of that error interval (low or high, computed by the case from the
// exact value minus and plus the proven error). Those are counted and noted as double-rounding boundaries.
bool compare_rounded_at_boundaries(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                                   const std::vector<double>& expected_rounded, const std::vector<double>& low,
                                   const std::vector<double>& high, int64_t cols, DType dtype);

// NMSE = sum (a - e)^2 / sum e^2 (llama.cpp test-backend-ops), recorded as "<tensor>/nmse".
double nmse(const std::vector<double>& actual, const std::vector<double>& expected);

// int8 codes against the reference's unrounded value v = value / scale.
// The allowed codes are those of every v' in [v - eps(i), v + eps(i)] under the named rounding and clamp:
// eps is the float error the kernel's arithmetic may add to v (0 where the case guarantees exact
// arithmetic, so ties must follow the rounding rule). A code that differs from code(v) inside that
// interval is an off-by-one at a rounding midpoint: counted, located, allowed. Anything else fails.
struct CodeRule {
  Rounding rounding = Rounding::half_even;
  Clamp clamp = Clamp::saturate;
  bool clamp_before_round = false;  // compressed-tensors rounds clamp(v)
};
// expected_codes are the reference's codes of v; the interval ends use code_of.
bool compare_codes(CaseResult& r, const std::string& tensor, const std::vector<double>& actual_codes,
                   const std::vector<double>& expected_codes, const std::vector<double>& scaled, int64_t cols,
                   const CodeRule& rule,
                   const std::function<double(std::size_t)>& eps);

// The int8 code a rule gives to an exact value (the harness's own, for the interval ends).
double code_of(double v, const CodeRule& rule);

// The code rule of a weight variant (numerics.md §5): half to even; the SmoothQuant authors' fake quant
// has no clamp, compressed-tensors clamps before rounding.
CodeRule weight_code_rule(WeightQuant variant);

}  // namespace smoothcheck
