// `smoothcheck verify ORIGINAL QUANTIZED`: reload an export and check it against its source model.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "harness/backends.h"
#include "harness/pipeline/verify.h"
#include "harness/pipeline_commands.h"

namespace smoothcheck {

namespace {

const char* kUsage = R"(usage: smoothcheck verify ORIGINAL QUANTIZED [--tokens N] [--seed S] [--json FILE]

Reloads a `smoothcheck quantize` export and checks it against the model it came from:
  layout     every tensor's dtype and shape (int8 [O, C] weights, float32 [O, 1] scales, float32
             [in_features] migration scales), no other tensors, the index's total_size exact
  loader     q/k/v share one migration vector and gate/up another (stacked qkv_proj / gate_up_proj)
  weights    dequantised and un-smoothed weights within numerics.md §8's bound scale/2 per element
             (reported per linear as max error / bound); unquantised tensors unchanged
  forward    W8A8 (per-token int8 activations, int8 GEMM with the vLLM epilogue on the CPU backend,
             the rest float32) against the float32 model on a sequence the original samples itself:
             max |Δlogit|, argmax agreement, mean NLL under both
Exits 1 when a check fails (thresholds are printed with the results), 2 on unreadable input.

  --tokens N   length of the sampled sequence, BOS included (default 256)
  --seed S     sampling seed (default 0)
  --json FILE  also write the report as JSON (schema smoothcheck.verify/1)
)";

}  // namespace

int command_verify(int argc, char** argv) {
  pipeline::VerifyOptions o;
  std::string json_path;
  int positional = 0;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") { std::cout << kUsage; return 0; }
    else if (arg == "--tokens") o.tokens = cli::parse_int(arg, value(), 2);
    else if (arg == "--seed") o.seed = static_cast<uint64_t>(cli::parse_int(arg, value(), 0));
    else if (arg == "--json") json_path = value();
    else if (!arg.empty() && arg[0] != '-' && positional == 0) { o.original = arg; ++positional; }
    else if (!arg.empty() && arg[0] != '-' && positional == 1) { o.quantized = arg; ++positional; }
    else throw std::invalid_argument("unexpected argument '" + arg + "'\n" + kUsage);
  }
  if (positional != 2) throw std::invalid_argument(std::string("ORIGINAL and QUANTIZED are required\n") + kUsage);
  auto backend = make_backend("cpu");
  const pipeline::VerifyReport r = pipeline::verify_export(*backend, o);

  const auto& q = r.quantization;
  std::printf("export: recipe %s, alpha %g, mode %s, weights %s\n", to_string(q.recipe), q.alpha, to_string(q.mode),
              to_string(q.weight_variant));
  std::printf("total_size: declared %lld, layout %lld, stored %lld\n", static_cast<long long>(r.declared_total_size),
              static_cast<long long>(r.expected_total_size), static_cast<long long>(r.stored_total_size));
  if (!r.linears.empty()) {
    std::printf("%-36s %12s %12s\n", "linear", "err/bound", "max |err|");
    for (const auto& c : r.linears)
      std::printf("%-36s %12.6f %12.3e\n", c.name.c_str(), c.max_error_over_bound, c.max_abs_error);
  }
  if (r.tokens > 0)
    std::printf("forward over %lld tokens: max |dlogit| %.4f (limit %.2f), argmax agreement %.2f%% (min %.0f%%), "
                "mean NLL %.4f -> %.4f (increase %+.4f, limit %.2f)\n",
                static_cast<long long>(r.tokens), r.max_abs_logit_delta, r.thresholds.max_abs_logit_delta,
                100 * r.argmax_agreement, 100 * r.thresholds.min_argmax_agreement, r.nll_original, r.nll_quantized,
                r.nll_quantized - r.nll_original, r.thresholds.max_nll_increase);
  if (r.tokens > 0)
    std::printf("  diagnostic, weights only (float activations): max |dlogit| %.4f, argmax agreement %.2f%%, "
                "mean NLL %.4f\n",
                r.weight_only_max_abs_logit_delta, 100 * r.weight_only_argmax_agreement, r.weight_only_nll);
  for (const std::string& f : r.failures) std::printf("FAILED %s\n", f.c_str());
  std::printf("%s\n", r.passed() ? "verify: passed" : "verify: FAILED");
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << r.to_json().dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + json_path);
  }
  return r.passed() ? 0 : 1;
}

}  // namespace smoothcheck
