// Helpers shared by the reference's step files; not part of the public API, and torch-free.
#pragma once

#include <stdexcept>
#include <string>

#include "kernels/options.h"
#include "reference/reference.h"

namespace smoothcheck::reference::internal {

// Every argument check of the reference ends here, so a caller always gets std::invalid_argument
// with a message naming the function.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("smoothcheck::reference::" + message);
}

// A Matrix whose values match its shape and hold at least one element.
inline void require_nonempty(const Matrix& m, const std::string& where) {
  require(m.rows >= 0 && m.cols >= 0 && static_cast<int64_t>(m.values.size()) == m.rows * m.cols,
          where + ": values.size() does not match rows * cols");
  require(m.rows > 0 && m.cols > 0, where + ": empty matrix");
}

// a * b and a / b correctly rounded to dtype: the float64 result plus the sign of its exact residual
// (from an fma) settles the one case a plain round_to_dtype of the float64 result gets wrong, a
// float64 result that lies exactly on a rounding boundary of the narrower type.
double round_product_to_dtype(double a, double b, DType dtype);
double round_quotient_to_dtype(double a, double b, DType dtype);
// One float32 operation of a torch tensor of dtype t (f32, f16, bf16): its result (exact, or given
// to float64) rounded to float32, then to t; for a quotient a / b the float32 rounding is the correct one.
double round_via_f32(double exact, DType t);
double quotient_via_f32(double a, double b, DType t);
// a + b correctly rounded to dtype (TwoSum's exact residual settles a float64 sum on a boundary): with a
// an exact float64 product of two f32 values, a fused multiply-add's single rounding.
double round_sum_to_dtype(double a, double b, DType dtype);

// The integer a quantiser's rounding produces (numerics.md §6): half_even is std::nearbyint under
// the default rounding mode (PyTorch's torch.round, PTX cvt.rni), half_away is std::round (C
// roundf, Triton's round in lmdeploy, ggml).
double round_to_integer(double value, Rounding rounding);

// The int8 a store of an already-rounded integer produces: saturate clamps to [-128, 127]; none keeps
// the low byte of the two's-complement int32 (values outside int32 store 0, as the kernels'
// conversion does). NaN stores 0 under both (cvt.rni.sat.s8.f32 and x86's INT32_MIN low byte).
double store_int8(double integer, Clamp clamp);

// The int8 code a weight variant gives to w / scale (numerics.md §5; quantize_weight.cpp, shared by
// the stepwise model quantize_weight_stepwise.cpp).
double weight_code(double scaled, WeightQuant variant);

// ---- activation quantisation (activation_quantization.cpp), shared by the per-token and per-tensor steps
// X / s per element (numerics.md §4), or X itself when migration_scale is empty; s > 0 and one per column.
Matrix migrated_input(const Matrix& x, const Vector& migration_scale, const std::string& where);
// The int8 code of an activation quotient under the options' rounding and clamp.
double activation_code(double scaled, const ActQuantOptions& o);
// The f32 value ScaleMath's formula gives for x / scale, from the f32 scale and reciprocal.
double f32_scaled(double x, double scale_f32, double reciprocal_f32, ScaleMath math);
// x non-empty and every finite value an f32 (the _f32 models take the kernel's own f32 inputs).
void require_f32_values(const Matrix& x, const std::string& where);
// max |x| of every row, NaN skipped as vLLM's fmaxf from 0 skips it, raised to absmax_floor under
// ZeroRow::floor (which needs a positive floor: std::invalid_argument naming `where` otherwise).
Vector row_absmax_for_scale(const Matrix& x, const ActQuantOptions& o, const std::string& where);

}  // namespace smoothcheck::reference::internal
