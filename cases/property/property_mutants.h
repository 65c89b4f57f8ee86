// Deliberately wrong backends for the properties' failing twins (issue 12), each the CPU backend with
// one realistic bug that a property of cases/property must catch. The differential runner's mutants
// (cases/differential/mutant_backends.h) serve the twins whose bug they already have; these are the
// bugs no case table needed. Test-only.
#pragma once

#include <memory>
#include <string>

#include "kernels/kernel_api.h"

namespace smoothcheck::property_mutants {

// The differential runner's mutant of that name (cases/differential/mutant_backends.cpp); null if none.
std::unique_ptr<kernels::Backend> differential_mutant(const std::string& name);

// Per-token and weight quantisation with 7-bit scales, absmax/63, and codes that match them
// (round(x / scale) in [-63, 63]): self-consistent, so a bound taken from the kernel's own scale
// passes it; only a scale re-derived from the input (absmax/127) catches it.
std::unique_ptr<kernels::Backend> seven_bit_scales();

// Per-token quantisation whose row maximum starts at 1 instead of 0 (TensorRT-LLM's 1e-6 start with
// the wrong constant): rows with absmax < 1 get scale 1/127, which no longer scales with the input.
std::unique_ptr<kernels::Backend> row_max_starting_at_one();

// Per-token and weight scales from the row's mean |x| where its absmax is required (calibration's
// absmean statistic used by mistake): most of the row saturates, and quantising the dequantised row
// gives another mean, another scale and other codes.
std::unique_ptr<kernels::Backend> absmean_scale_where_absmax_is_required();

// lmdeploy's normaliser sqrt(max(s)·min(s)) taken over every channel, not only those whose norm
// weight is non-zero (the nz mask forgotten; s = 1 is still written where the norm weight is 0).
std::unique_ptr<kernels::Backend> lmdeploy_normaliser_over_every_channel();

// An all-zero activation row gets scale 0 even under ZeroRow::floor, whose scale is floor/127.
std::unique_ptr<kernels::Backend> zero_row_scale_ignoring_the_floor();

// Both GEMMs refuse every shape as a documented limit (kernels::UnsupportedArguments), as cuBLASLt's
// engine refuses K or N not a multiple of 4: a property must give up on it, not pass it unchecked.
std::unique_ptr<kernels::Backend> refuses_every_gemm();

}  // namespace smoothcheck::property_mutants
