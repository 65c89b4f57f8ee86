// Where and how a result was produced: machine, CPU, GPU, compiler, build type, git commit.
#pragma once

#include <nlohmann/json.hpp>

namespace smoothcheck {

nlohmann::json run_info();

}  // namespace smoothcheck
