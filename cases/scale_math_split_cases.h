// The rows that tell ScaleMath::divide from ScaleMath::reciprocal_multiply apart (numerics.md §6): f32
// inputs on which the two f32 formulas of x / scale give different codes, compared with zero allowance
// against the reference's model of the named formula. Appended to the per-token and per-tensor tables.
#pragma once

#include "harness/differential/case_runner.h"

namespace smoothcheck::cases {

void append_per_token_scale_math_rows(CaseList& cases);
void append_per_tensor_scale_math_rows(CaseList& cases);

}  // namespace smoothcheck::cases
