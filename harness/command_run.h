// `smoothcheck run`: the case tables on one or more backends beside the reference.
#pragma once

namespace smoothcheck {

int command_run(int argc, char** argv);

}  // namespace smoothcheck
