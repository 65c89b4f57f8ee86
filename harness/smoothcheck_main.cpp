// The smoothcheck command: one subcommand per job.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "harness/command_run.h"
#include "harness/pipeline_commands.h"
#include "harness/report_commands.h"

namespace {

const char* kUsage = R"(usage: smoothcheck <command> [options]

SmoothQuant (W8A8 int8) kernel verification: production kernels beside a float64 reference.

commands:
  run        run the built-in case tables on a backend and report passed / incorrect / waived cases
  calibrate  per-linear input statistics of a LLaMA or BERT checkpoint (safetensors)
  quantize   smooth, quantise to int8 W8A8 and export a checkpoint with migration scales
  verify     reload an export and check layout, weights and the W8A8 forward against the original
  forward    the float32 logits (LLaMA) or hidden states (BERT) at every position of a token list
  report     summary.md, index.html and JUnit XML from results files; regressions against a baseline
  perf       compare Google Benchmark runs (SAME / FASTER / SLOWER / NOISY), record them as results

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
    if (command == "forward") return smoothcheck::command_forward(argc - 2, argv + 2);
    if (command == "report") return smoothcheck::command_report(argc - 2, argv + 2);
    if (command == "perf") return smoothcheck::command_perf(argc - 2, argv + 2);
    std::cerr << "smoothcheck: unknown command '" << command << "'\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "smoothcheck " << command << ": " << e.what() << "\n";
    return 2;
  }
}
