// The smoothcheck command: one subcommand per job.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "harness/command_run.h"
#include "harness/pipeline_commands.h"

namespace {

const char* kUsage = R"(usage: smoothcheck <command> [options]

SmoothQuant (W8A8 int8) kernel verification: production kernels beside a float64 reference.

commands:
  run        run the built-in case tables on a backend and report passed / incorrect / waived cases
  calibrate  per-linear input statistics of a LLaMA checkpoint (safetensors)
  quantize   smooth, quantise to int8 W8A8 and export a checkpoint with migration scales
  verify     reload an export and check layout, weights and the W8A8 forward against the original

`smoothcheck <command> --help` describes each command.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  try {
    if (command == "run") return smoothcheck::command_run(argc - 2, argv + 2);
    if (command == "calibrate") return smoothcheck::command_calibrate(argc - 2, argv + 2);
    if (command == "quantize") return smoothcheck::command_quantize(argc - 2, argv + 2);
    if (command == "verify") return smoothcheck::command_verify(argc - 2, argv + 2);
    std::cerr << "smoothcheck: unknown command '" << command << "'\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "smoothcheck " << command << ": " << e.what() << "\n";
    return 2;
  }
}
