// Property 8: bad inputs are refused, not absorbed (harness/checked_ops.h).
//  - Any one defect (NaN or Inf in an activation, weight, scale or statistic; s ≤ 0; a zero-length
//    dimension; a mismatched shape or length) makes the checked operation throw std::invalid_argument
//    whose message names the tensor; nothing is written silently.
//  - Valid inputs pass through unchanged: the same results as the bare kernel, all finite, and an
//    all-zero activation row quantises as numerics.md §6 defines (codes 0; scale 0 under
//    ZeroRow::zero_scale, floor/127 under ZeroRow::floor).
#include <cmath>
#include <limits>
#include <stdexcept>

#include "cases/property/property_generators.h"
#include "cases/property/property_mutants.h"
#include "cases/property/property_support.h"
#include "harness/backends.h"
#include "harness/differential/case_helpers.h"
#include "harness/checked_ops.h"
#include "harness/differential/host_tensor.h"

namespace smoothcheck::property {
namespace {

using checked::FloatSpan;
using checked::MutFloatSpan;

// The front door under test: the checked functions, or (for the "can fail" test) a pass-through
// straight to the kernels.
struct FrontDoor {
  bool validates = true;
  void quantize_per_token(kernels::Backend& b, kernels::ConstMatrix x, FloatSpan s, const ActQuantOptions& o,
                          kernels::MutMatrix q, MutFloatSpan scale) const {
    if (validates) return checked::quantize_per_token(b, x, s, o, q, scale);
    b.quantize_per_token(x, s.size ? s.data : nullptr, o, q, scale.data);
  }
  void scale_columns(kernels::Backend& b, kernels::MutMatrix w, FloatSpan s) const {
    if (validates) return checked::scale_columns(b, w, s);
    b.scale_columns(w, s.data);
  }
  void gemm_w8a8(kernels::Backend& b, kernels::ConstMatrix a, kernels::ConstMatrix w, FloatSpan sa, FloatSpan sb,
                 kernels::MutMatrix out) const {
    if (validates) return checked::gemm_w8a8(b, a, w, sa, sb, {nullptr, out.dtype, 0}, Epilogue::vllm, out);
    b.gemm_w8a8(a, w, sa.data, sb.data, {nullptr, out.dtype, 0}, Epilogue::vllm, out);
  }
  void smooth_scale(kernels::Backend& b, FloatSpan a, FloatSpan w, Recipe r, float alpha, MutFloatSpan s) const {
    if (validates) return checked::smooth_scale(b, a, w, {}, r, alpha, s);
    b.smooth_scale(a.data, w.data, nullptr, a.size, r, alpha, s.data);
  }
};

enum class Defect {
  nan_in_activation, inf_in_activation, nan_in_weight, zero_smoothing_scale, negative_smoothing_scale,
  nan_in_migration_scale, empty_tokens, short_migration_scale, gemm_k_mismatch, nan_in_gemm_scale,
  negative_weight_statistic, nan_in_activation_statistic, short_weight_statistic
};
const char* const kDefectNames[] = {
    "NaN in x", "Inf in x", "NaN in w", "s_j = 0", "s_j < 0", "NaN in migration_scale", "x with 0 tokens",
    "migration_scale one short", "gemm K mismatch", "NaN in scale_a", "w statistic <= 0", "NaN in a statistic",
    "w statistic one short"};
void showValue(Defect d, std::ostream& os) { os << kDefectNames[int(d)]; }

// Runs one operation with the defect injected at `position`; throws whatever the front door throws.
void run_with_defect(const FrontDoor& door, kernels::Backend& b, Defect defect, DType dtype, int64_t T, int64_t C,
                     uint64_t seed, int64_t position) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  std::vector<double> xv = generate_matrix(T, C, Distribution::normal, seed, dtype);
  std::vector<float> s(static_cast<std::size_t>(C));
  for (int64_t j = 0; j < C; ++j) s[std::size_t(j)] = float(generate_positive_scales(C, seed, false)[std::size_t(j)]);
  const std::size_t at = std::size_t(position % (T * C));
  const std::size_t channel = std::size_t(position % C);
  std::vector<float> scale(static_cast<std::size_t>(T));
  HostTensor q = make_output(DType::i8, T, C);
  ActQuantOptions o;
  switch (defect) {
    case Defect::nan_in_activation:
    case Defect::inf_in_activation:
      xv[at] = defect == Defect::nan_in_activation ? nan : inf;
      door.quantize_per_token(b, make_tensor(dtype, T, C, 0, xv).matrix(), {}, o, q.mut_matrix(), {scale.data(), T});
      return;
    case Defect::nan_in_weight: {
      xv[at] = nan;
      HostTensor w = make_tensor(dtype, T, C, 0, xv);
      door.scale_columns(b, w.mut_matrix(), {s.data(), C});
      return;
    }
    case Defect::zero_smoothing_scale:
    case Defect::negative_smoothing_scale: {
      s[channel] = defect == Defect::zero_smoothing_scale ? 0.0f : -s[channel];
      HostTensor w = make_tensor(dtype, T, C, 0, xv);
      door.scale_columns(b, w.mut_matrix(), {s.data(), C});
      return;
    }
    case Defect::nan_in_migration_scale:
      s[channel] = float(nan);
      door.quantize_per_token(b, make_tensor(dtype, T, C, 0, xv).matrix(), {s.data(), C}, o, q.mut_matrix(), {scale.data(), T});
      return;
    case Defect::empty_tokens: {
      HostTensor x(dtype, 0, C), q0(DType::i8, 0, C);
      door.quantize_per_token(b, x.matrix(), {}, o, q0.mut_matrix(), {scale.data(), 0});
      return;
    }
    case Defect::short_migration_scale:
      door.quantize_per_token(b, make_tensor(dtype, T, C, 0, xv).matrix(), {s.data(), C - 1}, o, q.mut_matrix(),
                              {scale.data(), T});
      return;
    case Defect::gemm_k_mismatch:
    case Defect::nan_in_gemm_scale: {
      HostTensor a = make_tensor(DType::i8, T, C, 0, std::vector<double>(std::size_t(T * C), 3.0));
      const int64_t K = defect == Defect::gemm_k_mismatch ? C + 1 : C;
      HostTensor w = make_tensor(DType::i8, 2, K, 0, std::vector<double>(std::size_t(2 * K), -5.0));
      std::vector<float> sa(std::size_t(T), 0.5f), sb(2, 0.25f);
      if (defect == Defect::nan_in_gemm_scale) sa[std::size_t(position % T)] = float(nan);
      HostTensor out = make_output(DType::f32, T, 2);
      door.gemm_w8a8(b, a.matrix(), w.matrix(), {sa.data(), T}, {sb.data(), 2}, out.mut_matrix());
      return;
    }
    case Defect::negative_weight_statistic:
    case Defect::nan_in_activation_statistic:
    case Defect::short_weight_statistic: {
      std::vector<float> a(static_cast<std::size_t>(C)), w(static_cast<std::size_t>(C)), out(static_cast<std::size_t>(C));
      for (int64_t j = 0; j < C; ++j) {
        a[std::size_t(j)] = float(std::fabs(xv[std::size_t(j)]));
        w[std::size_t(j)] = s[std::size_t(j)];
      }
      if (defect == Defect::negative_weight_statistic) w[channel] = -w[channel];
      if (defect == Defect::nan_in_activation_statistic) a[channel] = float(nan);
      const int64_t w_size = defect == Defect::short_weight_statistic ? C - 1 : C;
      door.smooth_scale(b, {a.data(), C}, {w.data(), w_size}, Recipe::smoothquant, 0.5f, {out.data(), C});
      return;
    }
  }
}

std::string expected_tensor(Defect d) {
  switch (d) {
    case Defect::nan_in_activation: case Defect::inf_in_activation: case Defect::empty_tokens: return "x";
    case Defect::nan_in_weight: return "w";
    case Defect::zero_smoothing_scale: case Defect::negative_smoothing_scale: return "s";
    case Defect::nan_in_migration_scale: case Defect::short_migration_scale: return "migration_scale";
    case Defect::gemm_k_mismatch: return "b";
    case Defect::nan_in_gemm_scale: return "scale_a";
    case Defect::negative_weight_statistic: case Defect::short_weight_statistic: return "w (weight statistic)";
    case Defect::nan_in_activation_statistic: return "a (activation statistic)";
  }
  return "?";
}

void defects_are_refused(const FrontDoor& door, kernels::Backend& b) {
  const Defect d = *rc::gen::element(Defect::nan_in_activation, Defect::inf_in_activation, Defect::nan_in_weight,
                                     Defect::zero_smoothing_scale, Defect::negative_smoothing_scale,
                                     Defect::nan_in_migration_scale, Defect::empty_tokens, Defect::short_migration_scale,
                                     Defect::gemm_k_mismatch, Defect::nan_in_gemm_scale, Defect::negative_weight_statistic,
                                     Defect::nan_in_activation_statistic, Defect::short_weight_statistic)
                       .as("defect");
  const DType dtype = *property_gen::float_dtype(false).as("dtype");
  const int64_t T = *property_gen::extent(8).as("tokens");
  const int64_t C = 1 + *property_gen::extent(40).as("channels - 1");
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const int64_t position = *rc::gen::inRange<int64_t>(0, 1 << 20).as("defect position");
  RC_TAG(kDefectNames[int(d)]);
  try {
    run_with_defect(door, b, d, dtype, T, C, seed, position);
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    if (what.find(expected_tensor(d)) == std::string::npos) RC_LOG() << "message: " << what << "\n";
    RC_ASSERT(what.find(expected_tensor(d)) != std::string::npos);
    return;
  } catch (const std::exception& e) {
    RC_FAIL("refused, but not as std::invalid_argument naming the tensor: " + std::string(e.what()));
  }
  RC_FAIL("accepted a defective input (" + std::string(kDefectNames[int(d)]) + ") without an error");
}

// Valid inputs: the checked path gives exactly the bare kernel's results, all finite, and a zero row
// quantises as numerics.md §6 defines.
void valid_inputs_pass_through(kernels::Backend& b, const ActQuantOptions& options) {
  const DType dtype = *property_gen::float_dtype(false).as("dtype");
  const int64_t T = *property_gen::extent(8).as("tokens"), C = *property_gen::extent(40).as("channels");
  const TensorSpec xs = *property_gen::tensor_of_shape(T, C, dtype).as("X");
  const PositiveScales ss = *rc::gen::arbitrary<PositiveScales>().as("migration scale");
  RC_TAG(to_string(xs.distribution));
  const std::vector<double> xv = xs.values();
  HostTensor x = make_tensor(dtype, T, C, 0, xv);
  std::vector<float> s;
  for (double v : ss.values(C)) s.push_back(float(v));
  HostTensor q_checked = make_output(DType::i8, T, C), q_bare = make_output(DType::i8, T, C);
  std::vector<float> scale_checked(static_cast<std::size_t>(T)), scale_bare(static_cast<std::size_t>(T));
  checked::quantize_per_token(b, x.matrix(), {s.data(), C}, options, q_checked.mut_matrix(), {scale_checked.data(), T});
  b.quantize_per_token(x.matrix(), s.data(), options, q_bare.mut_matrix(), scale_bare.data());
  RC_ASSERT(q_checked.to_doubles() == q_bare.to_doubles());
  RC_ASSERT(scale_checked == scale_bare);
  for (int64_t t = 0; t < T; ++t) {
    RC_ASSERT(std::isfinite(scale_checked[std::size_t(t)]));
    bool zero_row = true;
    for (int64_t c = 0; c < C; ++c) zero_row = zero_row && xv[std::size_t(t * C + c)] == 0.0;
    if (!zero_row) continue;
    const float expected_scale = options.zero_row == ZeroRow::zero_scale ? 0.0f : options.absmax_floor / 127.0f;
    RC_ASSERT(scale_checked[std::size_t(t)] == expected_scale);
    for (int64_t c = 0; c < C; ++c) RC_ASSERT(q_checked.get(t, c) == 0.0);
  }
}

}  // namespace

class CheckedOpsOnBackend : public BackendProperty {};

TEST_P(CheckedOpsOnBackend, DefectsAreRefusedNamingTheTensor) {
  kernels::Backend& b = backend();
  rc::detail::checkGTest([&b](int) { defects_are_refused(FrontDoor{true}, b); });
}

TEST_P(CheckedOpsOnBackend, ValidInputsPassThroughWithZeroRowsAsDefined) {
  kernels::Backend& b = backend();
  rc::detail::checkGTest([&b](const ActQuantOptions& o) { valid_inputs_pass_through(b, o); });
}

SMOOTHCHECK_INSTANTIATE_ON_BACKENDS(CheckedOpsOnBackend);
SMOOTHCHECK_REGISTER_PROPERTY(CheckedOps, DefectsAreRefusedNamingTheTensor);
SMOOTHCHECK_REGISTER_PROPERTY(CheckedOps, ValidInputsPassThroughWithZeroRowsAsDefined);

// Can fail: the bare kernels behind a pass-through front door absorb NaN, Inf, s <= 0 and short
// vectors (rapidcheck finds one such defect and shrinks it to the smallest shape).
SMOOTHCHECK_TWIN_OF_TEST(CheckedOps, DefectsAreRefusedNamingTheTensor, CatchesAPassThroughFrontDoor) {
  auto backend = make_backend("cpu-scalar");
  kernels::Backend& b = *backend;
  expect_counterexample("front_door_without_validation", [&b](int) { defects_are_refused(FrontDoor{false}, b); });
}

// Can fail: a kernel that gives an all-zero row scale 0 under ZeroRow::floor (whose scale is floor/127).
SMOOTHCHECK_TWIN_OF_TEST(CheckedOps, ValidInputsPassThroughWithZeroRowsAsDefined, CatchesZeroRowScaleIgnoringTheFloor) {
  auto backend = property_mutants::zero_row_scale_ignoring_the_floor();
  kernels::Backend& b = *backend;
  expect_counterexample("zero_row_scale_ignoring_the_floor",
                        [&b](const ActQuantOptions& o) { valid_inputs_pass_through(b, o); });
}

}  // namespace smoothcheck::property
