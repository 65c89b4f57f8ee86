// The shapes every benchmark runs at: LLaMA-2-7B's activations and linear layers (hidden 4096,
// MLP intermediate 11008), at decode (1 token), small batch (16), prefill (512) and a long prompt
// (4096 tokens). Shared by the CPU and the CUDA benchmarks so their rows line up one for one.
#pragma once

#include <array>
#include <cstdint>

namespace smoothcheck::bench {

// Tokens per activation tensor (the rows of x).
inline constexpr std::array<int64_t, 4> kTokens = {1, 16, 512, 4096};
// Channels of an activation: the attention/MLP input (4096) and the down_proj input (11008).
inline constexpr std::array<int64_t, 2> kHidden = {4096, 11008};

// A linear layer's weight [out_features, in_features] = the GEMM's [N, K].
struct LinearShape {
  int64_t n;
  int64_t k;
};
// q/k/v/o_proj (4096 x 4096), gate/up_proj (11008 x 4096), down_proj (4096 x 11008).
inline constexpr std::array<LinearShape, 3> kLinears = {{{4096, 4096}, {11008, 4096}, {4096, 11008}}};

// GEMMs with M = 4096 take seconds per call on a small CPU: they are kept, but run one iteration.
inline constexpr int64_t kLongGemmM = 4096;

}  // namespace smoothcheck::bench
