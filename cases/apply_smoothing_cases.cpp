// Applying s (numerics.md §4): the fcs' columns times s, the previous fc's rows and the norm's weight and
// bias divided by s. The kernels compute in f32 and round once to the dtype. For f32 tensors that is the
// correctly rounded result (the float64 reference's w / s rounded to f32 is too: 53 >= 2 * 24 + 2), so
// the tier is bit-exact. For f16/bf16 the f32 step is a double rounding (s has 24 bits, so the product
// is not a short number): where the exact value lies within one f32 rounding of an f16/bf16 boundary,
// the other neighbour is allowed, counted and noted.
#include "cases/case_tables.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

enum class Target { fc_columns, prev_fc_rows, norm_vector };
const char* to_string(Target t) {
  switch (t) {
    case Target::fc_columns: return "scale_columns";
    case Target::prev_fc_rows: return "divide_rows";
    case Target::norm_vector: return "divide_vector";
  }
  return "?";
}

struct ApplySmoothingCase final : Case {
  const Target target;
  const int64_t rows, cols, pad;  // the matrix (a vector has rows == 1)
  const DType dtype;
  const Distribution distribution;
  const uint64_t case_seed;

  ApplySmoothingCase(Target t, int64_t r, int64_t c, int64_t p, DType d, Distribution dist, uint64_t s)
      : target(t), rows(r), cols(c), pad(p), dtype(d), distribution(dist), case_seed(s) {}

  std::string name() const override {
    return std::string(to_string(target)) + "/" + shape_name("r", rows, "c", cols, pad) + "/" + to_string(dtype) + "/" +
           to_string(distribution) + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return rows * cols; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    const int64_t s_size = target == Target::prev_fc_rows ? rows : cols;
    std::vector<double> s_values = generate_positive_scales(s_size, derive_seed(case_seed, "s"), false);
    std::vector<double> w_values = generate_matrix(rows, cols, distribution, derive_seed(case_seed, "w"), dtype);
    const ZeroOutput zeros = may_be_all_zero(distribution, rows) ? ZeroOutput::allowed : ZeroOutput::fails;
    HostTensor& w = tensors.in_place_matrix("w", dtype, rows, cols, pad, w_values, zeros);
    const HostTensor& s = tensors.input_vector("s", DType::f32, s_values);
    reference::Matrix before = to_reference(w);
    if (!tensors.run_kernel([&] {
          switch (target) {
            case Target::fc_columns: backend.scale_columns(w.mut_matrix(), s.f32()); break;
            case Target::prev_fc_rows: backend.divide_rows(w.mut_matrix(), s.f32()); break;
            case Target::norm_vector: backend.divide_vector(w.mut_vector(), s.f32()); break;
          }
        }))
      return;
    reference::Matrix expected;
    switch (target) {
      case Target::fc_columns: expected = reference::scale_columns(before, s_values, dtype); break;
      case Target::prev_fc_rows: expected = reference::divide_rows(before, s_values, dtype); break;
      case Target::norm_vector:
        expected = before;
        expected.values = reference::divide_vector(before.values, s_values, dtype);
        break;
    }
    const std::vector<double> actual = w.to_doubles();
    if (dtype == DType::f32) {
      compare_exact(r, "w", actual, expected.values, cols);
    } else {
      std::vector<double> exact(actual.size());
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          double s_value = s_values[std::size_t(target == Target::prev_fc_rows ? i : j)];
          double w_value = before.values[std::size_t(i * cols + j)];
          exact[std::size_t(i * cols + j)] = target == Target::fc_columns ? w_value * s_value : w_value / s_value;
        }
      compare_rounded(r, "w", actual, expected.values, exact, cols, dtype, unit_roundoff(DType::f32));
    }
    r.keep("w_before", {rows, cols}, std::move(before.values));
    r.keep("expected_w", {rows, cols}, std::move(expected.values));
  }
};

CaseList apply_smoothing_table() {
  CaseList cases;
  auto add = [&](Target t, int64_t r, int64_t c, int64_t pad, DType d, Distribution dist, uint64_t seed) {
    cases.push_back(std::make_unique<ApplySmoothingCase>(t, r, c, pad, d, dist, seed));
  };
  for (DType d : {DType::f32, DType::f16, DType::bf16}) {
    for (int64_t c : hidden_sizes()) {
      add(Target::fc_columns, c >= 4096 ? 8 : 19, c, c % 2 ? 3 : 0, d, Distribution::normal, 1);
      add(Target::prev_fc_rows, c, c >= 4096 ? 8 : 19, 1, d, Distribution::normal, 1);
      add(Target::norm_vector, 1, c, 0, d, Distribution::normal, 1);
    }
    for (Distribution dist : all_distributions())
      for (Target t : {Target::fc_columns, Target::prev_fc_rows}) add(t, 33, 1025, 2, d, dist, 2);
  }
  add(Target::fc_columns, 11008, 4096, 0, DType::f16, Distribution::normal, 3);  // gate/up of LLaMA-2-7B
  add(Target::prev_fc_rows, 11008, 4096, 0, DType::bf16, Distribution::normal, 3);  // up_proj before down_proj
  return cases;
}

const CaseTableRegistration apply_smoothing_registration{"apply_smoothing", apply_smoothing_table};

}  // namespace
}  // namespace smoothcheck::cases
