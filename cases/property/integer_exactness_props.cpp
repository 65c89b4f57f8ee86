// Property 7 (numerics.md §7): the int8 GEMM accumulator is exact. For any shape up to K = 16384
// (|acc| ≤ 128·128·16384 = 2^28, inside int32) the kernel's int32 accumulators equal an int64 sum
// computed here, bit for bit. Codes include the extremes (every element −128, or 127) that make the
// largest sums, and K lands on the vector-width and power-of-two edges often.
#include <cstdint>
#include <random>

#include "cases/differential/mutant_backends.h"
#include "cases/property/property_generators.h"
#include "cases/property/property_mutants.h"
#include "cases/property/property_support.h"

namespace smoothcheck::property {
namespace {

enum class CodePattern { uniform, all_min, all_max, alternating_extremes, small };
void showValue(CodePattern p, std::ostream& os) {
  const char* names[] = {"uniform", "all -128", "all 127", "alternating -128/127", "small [-2, 2]"};
  os << names[int(p)];
}

Matrix int8_codes(int64_t rows, int64_t cols, CodePattern pattern, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> any(-128, 127), small(-2, 2);
  Matrix m(rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) {
    double& v = m.values[std::size_t(i)];
    switch (pattern) {
      case CodePattern::uniform: v = any(rng); break;
      case CodePattern::all_min: v = -128; break;
      case CodePattern::all_max: v = 127; break;
      case CodePattern::alternating_extremes: v = (i % 2) ? 127 : -128; break;
      case CodePattern::small: v = small(rng); break;
    }
  }
  return m;
}

rc::Gen<int64_t> reduction_length() {
  return rc::gen::weightedOneOf<int64_t>(
      {{3, rc::gen::inRange<int64_t>(1, 300)},
       {2, rc::gen::element<int64_t>(31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 4095, 4096, 8191, 8192, 16383, 16384)},
       {1, rc::gen::inRange<int64_t>(1, 16385)},
       {2, rc::gen::map(rc::gen::inRange<int64_t>(1, 4097), [](int64_t k) { return 4 * k; })}});  // cuBLASLt's K % 4
}

void int8_gemm_is_exact(StepRunner& runner, uint64_t seed) {
  const int64_t K = *reduction_length().as("K");
  const int64_t M = *property_gen::extent(K > 4096 ? 4 : 9).as("M");
  const int64_t N = *property_gen::gemm_extent(K > 4096 ? 4 : 40).as("N");
  const auto gen_pattern = rc::gen::element(CodePattern::uniform, CodePattern::uniform, CodePattern::all_min,
                                            CodePattern::all_max, CodePattern::alternating_extremes, CodePattern::small);
  const CodePattern pa = *gen_pattern.as("codes of a"), pb = *gen_pattern.as("codes of b");
  RC_CLASSIFY(K >= 4096, "K >= 4096");
  const Matrix a = int8_codes(M, K, pa, seed), b = int8_codes(N, K, pb, seed ^ 0x5bd1e995u);

  const Matrix acc = runner.gemm_s8s8s32(a, b);
  RC_ASSERT(acc.rows == M && acc.cols == N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t expected = 0;
      for (int64_t k = 0; k < K; ++k) expected += int64_t(a.at(m, k)) * int64_t(b.at(n, k));
      if (acc.at(m, n) != double(expected)) RC_LOG() << "acc[" << m << ", " << n << "] = " << acc.at(m, n) << ", expected " << expected << "\n";
      RC_ASSERT(acc.at(m, n) == double(expected));
    }
}

}  // namespace

SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(IntegerGemmExactness, int8_gemm_is_exact);

// Can fail: an accumulator not reset between 16-column tiles, and a weight read as [K, N].
SMOOTHCHECK_TWIN_OF(IntegerGemmExactness, CatchesStaleAccumulatorAndTransposedWeight) {
  for (const std::string name : {"stale_accumulator_between_tiles", "transposed_weight"}) {
    std::unique_ptr<kernels::Backend> backend;
    for (const mutants::Mutant& m : mutants::all_mutants())
      if (m.name == name) backend = m.make();
    ASSERT_TRUE(backend) << name;
    auto runner = backend_runner(*backend);
    expect_counterexample(name, bind_runner(*runner, &int8_gemm_is_exact));
  }
}

// Can fail: a backend that refuses every GEMM as a documented limit (as cuBLASLt's engine refuses
// K % 4 != 0) is not passed on the cases it never ran: the discards exhaust rapidcheck's ratio.
SMOOTHCHECK_TWIN_OF(IntegerGemmExactness, GivesUpOnABackendRefusingEveryGemm) {
  auto backend = property_mutants::refuses_every_gemm();
  auto runner = backend_runner(*backend);
  expect_property_gives_up("refuses_every_gemm", rc::detail::toProperty(bind_runner(*runner, &int8_gemm_is_exact)),
                           100);
}

}  // namespace smoothcheck::property
