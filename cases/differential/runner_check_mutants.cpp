// Mutants that only the runner's own checks can catch (harness/differential/case_tensors.h): the values they return
// are right, or the comparisons would flag them anyway, but each breaks one rule every case relies on —
// writing outside its output, changing an input, or writing nothing at all.
#include <algorithm>

#include "cases/differential/mutant_backends.h"
#include "cases/differential/mutant_support.h"
#include "kernels/cpu/cpu_backend_impl.h"

namespace smoothcheck::mutants {
namespace {

using kernels::ConstMatrix;
using kernels::CpuBackend;
using kernels::MutMatrix;
using support::load_float;
using support::row_of;
using support::store_float;

// A vectorised tail that stores one element too many: the code after each row's end lands in the row
// padding. Only padded rows are written, so the mutant stays inside any caller's buffer.
struct StoresPastTheRowEnd final : CpuBackend {
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    CpuBackend::quantize_per_token(x, s, o, q, scale);
    if (q.row_stride > q.cols)
      for (int64_t r = 0; r < q.rows; ++r) row_of<int8_t>(q, r)[q.cols] = 0;
  }
};

// Applies the migration division to the activations in place to save a buffer, then quantises them:
// the codes come out (nearly) right, but the caller's x has changed under it.
struct MigratesInPlace final : CpuBackend {
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    if (s == nullptr) return CpuBackend::quantize_per_token(x, s, o, q, scale);
    const MutMatrix scratch{const_cast<void*>(x.data), x.dtype, x.rows, x.cols, x.row_stride};
    for (int64_t r = 0; r < x.rows; ++r)
      for (int64_t c = 0; c < x.cols; ++c) store_float(scratch, r, c, load_float(x, r, c) / s[c]);
    CpuBackend::quantize_per_token(x, nullptr, o, q, scale);
  }
};

// A dispatch that finds no kernel for the shape, clears the output and returns without computing.
struct ClearsTheOutputOnly final : CpuBackend {
  void gemm_s8s8s32(ConstMatrix, ConstMatrix, MutMatrix acc) override {
    for (int64_t r = 0; r < acc.rows; ++r) std::fill_n(row_of<int32_t>(acc, r), acc.cols, 0);
  }
};

}  // namespace

std::vector<Mutant> runner_check_mutants() {
  using support::mutant;
  return {
      mutant<StoresPastTheRowEnd>("stores_past_the_row_end", "quantize_per_token", "t17_c1025_pad3/*", "guard: q"),
      mutant<MigratesInPlace>("migration_applied_to_the_input_in_place", "quantize_per_token", "*/migration/*",
                              "input: x"),
      mutant<ClearsTheOutputOnly>("clears_the_output_and_computes_nothing", "gemm_s8s8s32", "m7_*", "nonzero: acc"),
  };
}

}  // namespace smoothcheck::mutants
