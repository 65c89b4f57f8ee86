// numerics.md §7: the int8 GEMM, an exact integer accumulation.
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {

using internal::require;

Matrix gemm_s8s8s32(const Matrix& a, const Matrix& b) {
  internal::require_nonempty(a, "gemm_s8s8s32");
  internal::require_nonempty(b, "gemm_s8s8s32");
  require(a.cols == b.cols, "gemm_s8s8s32: a has K = " + std::to_string(a.cols) + ", b has K = " + std::to_string(b.cols));
  const at::Tensor ta = internal::view_of(a);
  const at::Tensor tb = internal::view_of(b);
  // float64 holds every integer below 2^53 exactly. With integer inputs, every product and every
  // partial sum, in whatever order or blocking the BLAS behind at::mm uses (fma included), is an
  // integer of magnitude at most K * max|a| * max|b|; below 2^53 nothing rounds and the result is the
  // exact integer sum, the value an int32 accumulator holds when it does not overflow.
  require(at::equal(ta, ta.round()) && at::equal(tb, tb.round()), "gemm_s8s8s32: the codes are not integers");
  const double bound = static_cast<double>(a.cols) * ta.abs().max().item<double>() * tb.abs().max().item<double>();
  require(bound < 9007199254740992.0, "gemm_s8s8s32: K * max|a| * max|b| >= 2^53, float64 would round");
  return internal::matrix_from(at::mm(ta, tb.t()));
}

}  // namespace smoothcheck::reference
