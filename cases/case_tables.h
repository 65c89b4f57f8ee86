// What the case tables share. Each table registers itself with the runner (harness/differential/case_registry.h):
// a case is one row, and adding a case is one line in its table.
#pragma once

#include <cstdint>
#include <vector>

namespace smoothcheck::cases {

// The shapes numerics.md §9 and the foundation issue name: vector tails (17, 1025, 1026, 5137, 8193),
// powers of two, and the LLaMA-2-7B hidden and intermediate sizes.
const std::vector<int64_t>& hidden_sizes();

}  // namespace smoothcheck::cases
