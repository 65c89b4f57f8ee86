// The smoothcheck command's sub-commands, one file each (command_<name>.cpp). Each takes the arguments
// after its name and returns the process exit code: 0 success, 1 a check failed (run, verify, perf
// compare --fail-on-regression), 2 a usage or input error (thrown as an exception, reported by main).
// `--help` on any of them, and on perf's sub-commands, prints its usage and exits 0.
#pragma once

namespace smoothcheck {

int command_run(int argc, char** argv);
int command_calibrate(int argc, char** argv);
int command_quantize(int argc, char** argv);
int command_verify(int argc, char** argv);
int command_sweep(int argc, char** argv);
int command_forward(int argc, char** argv);
int command_report(int argc, char** argv);
int command_perf(int argc, char** argv);

namespace cli {

struct Command {
  const char* name;
  const char* summary;  // one line of `smoothcheck --help`
  int (*run)(int argc, char** argv);
};

// In the order `smoothcheck --help` lists them.
inline constexpr Command kCommands[] = {
    {"run", "run the built-in case tables on a backend and report passed / incorrect / waived cases", command_run},
    {"calibrate", "per-linear input statistics of a LLaMA or BERT checkpoint (safetensors)", command_calibrate},
    {"quantize", "smooth, quantise to int8 W8A8 and export (smoothcheck, compressed-tensors or lmdeploy layout)",
     command_quantize},
    {"verify", "check a W8A8 checkpoint (smoothcheck's or another tool's) against its original model", command_verify},
    {"sweep", "each smoothing group's W8A8 output error over an alpha grid, and the alpha chosen", command_sweep},
    {"forward", "the float32 logits (LLaMA) or hidden states (BERT) at every position of a token list", command_forward},
    {"report", "summary.md, index.html and JUnit XML from results files; regressions against a baseline", command_report},
    {"perf", "compare Google Benchmark runs (SAME / FASTER / SLOWER / NOISY), record them as results", command_perf},
};

}  // namespace cli
}  // namespace smoothcheck
