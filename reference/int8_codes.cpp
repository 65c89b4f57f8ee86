// numerics.md §5-6: turning a scaled value into an int8 code, the two steps every quantiser shares:
// rounding to an integer, then the store.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "reference/internal.h"

namespace smoothcheck::reference::internal {

double round_to_integer(double value, Rounding rounding) {
  switch (rounding) {
    // vLLM and TensorRT-LLM (cvt.rni), PyTorch's torch.round (lmdeploy QLinear, SmoothQuant fake
    // quant, compressed-tensors): ties to even. nearbyint follows the current rounding mode, which
    // nothing in smoothcheck changes from round-to-nearest-even.
    case Rounding::half_even: return std::nearbyint(value);
    // lmdeploy's Triton per_token_quant_int8 and ggml's Q8_0 (roundf): ties away from zero.
    case Rounding::half_away: return std::round(value);
  }
  require(false, "round_to_integer: unknown Rounding");
  return 0.0;
}

double store_int8(double integer, Clamp clamp) {
  // NaN (a NaN element, or inf * 0 in a row whose absmax is inf) stores 0: PTX cvt.rni.sat.s8.f32 in
  // vLLM's float_to_int8_rn (csrc/quantization/compressed_tensors/int8_quant_kernels.cu) and TensorRT-LLM;
  // torch's .to(int8) of NaN on x86 (lmdeploy QLinear); and the unclamped store, whose int32 conversion
  // gives INT32_MIN (low byte 0) on x86 and 0 by PTX cvt.rzi. Unclamped it is smoothcheck's kernels'
  // rule; Triton's own NaN-to-int8 cast (lmdeploy per_token_quant_int8) is not pinned down upstream.
  if (std::isnan(integer)) return 0.0;
  switch (clamp) {
    // cvt.rni.sat.s8 (vLLM, TensorRT-LLM) and torch.clamp(-128, 127) (lmdeploy, compressed-tensors).
    case Clamp::saturate: return std::min(std::max(integer, -128.0), 127.0);
    // A plain store, as in lmdeploy's Triton kernel and the SmoothQuant authors' fake quant: the int32
    // conversion keeps the low byte, two's complement. Outside int32 the conversion yields
    // INT32_MIN (x86's integer indefinite), whose low byte is 0.
    case Clamp::none: {
      if (!(integer >= -2147483648.0 && integer < 2147483648.0)) return 0.0;
      const auto low_byte = static_cast<int64_t>(integer) & 0xff;  // of the two's-complement value
      return static_cast<double>(low_byte >= 128 ? low_byte - 256 : low_byte);
    }
  }
  require(false, "store_int8: unknown Clamp");
  return 0.0;
}

}  // namespace smoothcheck::reference::internal
