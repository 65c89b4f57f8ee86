// `smoothcheck verify ORIGINAL QUANTIZED` on a W8A8 checkpoint another tool wrote (issue 14):
// compressed-tensors (llm-compressor, loaded by vLLM) or lmdeploy's smooth_quant. Such a checkpoint keeps
// no migration vector, so the audit recovers the smoothing from the original and the checkpoint, then
// runs verify's own re-derivation on it. The checks, in order:
//   layout       every tensor its own quantization_config implies (third_party_scheme.h): each targeted
//                linear int8 [O, C] with its scale in the format's dtype and shape (and input_scale when
//                static), every other tensor the original's dtype and shape, nothing missing or extra,
//                the index's total_size exact
//   scales       finite and > 0 (a zero row as its engine stores it), each row's largest code ±127 (or
//                −128 where the format's absmax/127.5 reaches it): the codes fill the int8 range the
//                scale promises
//   loader       what vLLM / lmdeploy do with stacked q/k/v and gate/up: per-channel scales are
//                concatenated unchanged; static input scales of differing shards are replaced by their
//                maximum (reported per group, a note rather than a failure: it is the engine's choice)
//   smoothing    s recovered per group (recovered_smoothing.h): every fc of a group multiplied by the
//                same s, no norm changed without its fcs; with --stats, the recipe and α that explain
//                each group and the fit's residual (reported)
//   weights, weight_scale, codes   verify_rederivation.h with the recovered s and the format's weight
//                quantiser (compressed-tensors absmax/127.5 in the weight's dtype, lmdeploy absmax/127 in
//                float32): where s is exact (a norm ratio); where it is known only to the quantiser's
//                resolution (fc -> fc pairs), the §8 bound with that uncertainty
//   unquantised  every tensor quantisation and smoothing do not touch is the original's, bit for bit
//   forward      the W8A8 model under the engine's runtime (its profile's per-token quantiser and
//                epilogue) against the float model, as verify's forward check
#pragma once

#include "harness/pipeline/quantized_format.h"
#include "harness/pipeline/verify.h"

namespace smoothcheck::pipeline {

const std::vector<std::string>& audit_check_names();

// Problems with the inputs (unreadable files, a config the audit cannot model) throw CheckpointError;
// what the checks find goes to the report's failures.
VerifyReport audit_third_party(kernels::Backend& backend, const VerifyOptions& o, const DetectedFormat& format);

}  // namespace smoothcheck::pipeline
