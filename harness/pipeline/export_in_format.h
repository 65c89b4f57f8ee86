// `quantize --format compressed-tensors|lmdeploy` (issue 14): the same smoothing and int8 codes written in
// another tool's checkpoint layout, so that its own loader reads them:
//   compressed-tensors  <linear>.weight int8 [O, C], <linear>.weight_scale [O, 1] in the model's dtype
//                       (compressed_tensors/compressors/naive_quantized: symmetric, so no zero point),
//                       quantization_config as llm-compressor writes it for W8A8 (int-quantized, one
//                       group targeting Linear, channel weights, dynamic per-token inputs, lm_head ignored)
//   lmdeploy            <linear>.weight int8 [O, C], <linear>.scale float32 [O, 1] (QLinear's buffers),
//                       quantization_config {quant_method: smooth_quant, quant_dtype: int8}
// Neither has a place for a migration vector, so only fused smoothing can be written; and each stores
// the scale its own quantiser computes (compressed-tensors' in the weight's dtype), so the weight
// variant must be that format's. Anything else is refused before work starts, with the reason.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/pipeline/quantized_format.h"
#include "harness/models/quantized_layout.h"
#include "kernels/options.h"

namespace smoothcheck::pipeline {

// std::invalid_argument with the reason when `format` cannot hold such an export.
void require_format_options(QuantizedFormat format, SmoothMode mode, WeightQuant weight_variant, bool migration_scales);

// The name and dtype a linear's row scales take in `format` ("<linear>.scale" float32 for smoothcheck's
// and lmdeploy's, "<linear>.weight_scale" in the model's dtype for compressed-tensors').
std::string scale_tensor_name(QuantizedFormat format, const std::string& linear);
DType scale_tensor_dtype(QuantizedFormat format, DType model_dtype);

// smoothcheck's export layout (without migration scales) in `format`: each "<linear>.scale" renamed and
// retyped as above.
std::vector<ExportTensor> layout_in_format(const std::vector<ExportTensor>& smoothcheck_layout,
                                           const std::vector<QuantizedLinear>& linears, QuantizedFormat format,
                                           DType model_dtype);

// The quantization_config `format`'s loader reads (not for smoothcheck's own, see quantization_config.h).
nlohmann::json third_party_quantization_config(QuantizedFormat format);

}  // namespace smoothcheck::pipeline
