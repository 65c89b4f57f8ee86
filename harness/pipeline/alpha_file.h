// `quantize --alpha-file alphas.json` (issue 16): the α `sweep` chose (alpha_sweep.h, schema
// smoothcheck.alphas/1) for each smoothing group of the plan, per group, per layer or one global.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/models/smoothing_plan.h"
#include "kernels/options.h"

namespace smoothcheck::pipeline {

enum class AlphaChoice { group, layer, global };
AlphaChoice parse_alpha_choice(const std::string& s);  // std::invalid_argument naming the choices

// Each of `groups`' α by its source. Throws CheckpointError(file, problem) for a file of another schema,
// another recipe than `recipe` (its α were chosen for that recipe's s), a group or layer of the plan it
// does not hold (naming it), or an α outside [0, 1].
std::map<std::string, float> read_alpha_file(const std::filesystem::path& file, const std::vector<SmoothingGroup>& groups,
                                             Recipe recipe, AlphaChoice choice);

}  // namespace smoothcheck::pipeline
