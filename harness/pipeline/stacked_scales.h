// What an engine's loader does with migration scales (numerics.md §11): q/k/v (and gate/up) are
// loaded as one stacked parameter concatenated along the *output* dimension, while a migration scale
// lives on the *input* dimension. So the stacked parameter gets one [in_features] vector, which
// exists only if every member's vector is bit-identical; the seed's loader instead tried to load them
// as output shards and failed. This is the loader done right, used by `verify` and the tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/llama_config.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

// One stacked parameter of a model: its name (beside its members) and the linears it concatenates.
struct StackedGroup {
  std::string name;                     // "model.layers.3.self_attn.qkv_proj"
  std::vector<QuantizedLinear> members;  // q, k, v
};

// Each group's common [in_features] migration vector, by group name. Throws CheckpointError(checkpoint,
// stacked parameter, reason) when a member's migration_scale is absent, not float32 [in_features], or
// differs from the other members' (the first differing channel is named).
std::map<std::string, std::vector<float>> load_stacked_migration_scales(const checkpoint::Checkpoint& quantized,
                                                                        const std::vector<StackedGroup>& groups);

}  // namespace smoothcheck::pipeline
