// `smoothcheck verify ORIGINAL QUANTIZED`: reload an export and check it against its source model.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "harness/checkpoint/atomic_file.h"
#include "harness/backends.h"
#include "harness/cli/arg_reader.h"
#include "harness/pipeline/quantized_format.h"
#include "harness/pipeline/third_party_audit.h"
#include "harness/pipeline/verify.h"
#include "harness/cli/commands.h"
#include "harness/report/verify_results.h"

namespace smoothcheck {

namespace {

const char* kVerifyUsage = R"(usage: smoothcheck verify ORIGINAL QUANTIZED [--format F] [--stats FILE] [--tokens N] [--no-forward]
                                            [--seed S] [--sentences N] [--seq-len L] [--json FILE]

Checks a W8A8 checkpoint against the model it came from. The format is told from QUANTIZED's
config.json and tensor names and printed first: smoothcheck's own export, compressed-tensors
(llm-compressor's int-quantized, run by vLLM) or lmdeploy's smooth_quant; a mixed or unknown one, or a
TensorRT-LLM checkpoint, is refused with the reason. Another tool's checkpoint keeps no migration
vector: its smoothing is recovered from the folded norms and fcs (every fc of a group must carry the
same s), with --stats the recipe and alpha that explain each group are fitted and reported, and the
checks below run on the recovered s with the format's own weight quantiser and engine runtime, plus
"scales" (finite, > 0, the codes reaching +-127 or -128 as the format allows) and the engine loader's
treatment of stacked q/k/v and gate/up (reported).

For smoothcheck's own export every stored number is re-derived from the original and the recipe that
quantization_config records, never checked against the numbers stored beside it:
  layout           every tensor's dtype and shape (int8 [O, C] weights, float32 [O, 1] scales, float32
                   [in_features] migration scales), no other tensors, the index's total_size exact
  loader           q/k/v share one migration vector and gate/up another (stacked qkv_proj / gate_up_proj)
  migration_scale  every linear's s recomputed by the float64 reference from the original weights, the
                   calibration statistics (--stats) and the recorded recipe and alpha, within 16 u32;
                   a mismatch names the recipe and alpha that explain the stored s, if any does.
                   Without --stats this check cannot run: it is reported as "not run", and verify
                   does not say "passed" for the export as a whole
  weight_scale     every row scale recomputed by the recorded weight variant's formula from the original
                   weight times s, within the f32 pipeline's 2-3 u32
  codes            every int8 code recomputed likewise: exact, except either neighbour of a rounding
                   midpoint that the f32 arithmetic's error reaches (counted)
  weights          dequantised and un-smoothed weights within numerics.md §8's bound scale/2 per element
                   (reported per linear as max error / bound)
  unquantised      unquantised tensors unchanged (fused norms: original / s)
  smoothing        an export that says it was smoothed has some s other than 1
  forward          W8A8 (per-token int8 activations, int8 GEMM with the vLLM epilogue on the CPU backend,
                   the rest float32) against the float32 model on a sequence the original samples itself:
                   max |Δlogit|, argmax agreement, mean NLL under both. For BERT (config.json model_type
                   "bert"): query/key/value share one migration vector, every non-linear tensor is
                   bit-identical, and the forward check compares sentence embeddings of held-out licence
                   text (the corpus's last chunks; calibration uses its first) by cosine similarity
Exits 1 when a check fails (thresholds are printed with the results), 2 on unreadable input; 0 when
no check failed, with the last line "verify: passed" only when every check ran.

  --format F   compressed-tensors, lmdeploy or smoothcheck: refuse the checkpoint unless it is in F
  --stats FILE the calibration statistics the export was made from (`smoothcheck calibrate`'s
               safetensors or lmdeploy's inputs_stats.pth, told apart by content): enables the
               migration_scale check, and adds the activation absmax profile per channel before
               and after smoothing to --json's document
  --tokens N   length of the sampled sequence, BOS included (default 256)
  --no-forward LLaMA: skip the forward check (reported as not run), e.g. for a large model whose
               float32 forward passes would dominate the run; the other checks still run in full, one
               layer in memory at a time
  --seed S     sampling seed (default 0)
  --sentences N  BERT: held-out chunks to embed (default 16)
  --seq-len L    BERT: tokens per chunk at most (default 128)
  --json FILE  also write the report as a results document (schema smoothcheck.results/2, the
               verify/1 report inside) for `smoothcheck report`
)";

}  // namespace

int command_verify(int argc, char** argv) {
  pipeline::VerifyOptions o;
  std::optional<pipeline::QuantizedFormat> format;
  std::string json_path, stats_path;
  int positional = 0;
  for (cli::ArgReader args(argc, argv); args.next();) {
    const std::string arg = args.current();
    const auto value = [&args] { return args.value(); };
    if (args.help()) { std::cout << kVerifyUsage; return 0; }
    else if (arg == "--tokens") o.tokens = cli::parse_int(arg, value(), 2);
    else if (arg == "--no-forward") o.forward = false;
    else if (arg == "--seed") o.seed = static_cast<uint64_t>(cli::parse_int(arg, value(), 0));
    else if (arg == "--sentences") o.sentences = cli::parse_int(arg, value(), 1);
    else if (arg == "--seq-len") o.seq_len = cli::parse_int(arg, value(), 3);
    else if (arg == "--json") json_path = value();
    else if (arg == "--stats") stats_path = value();
    else if (arg == "--format") format = pipeline::parse_quantized_format(value());
    else if (!arg.empty() && arg[0] != '-' && positional == 0) { o.original = arg; ++positional; }
    else if (!arg.empty() && arg[0] != '-' && positional == 1) { o.quantized = arg; ++positional; }
    else throw std::invalid_argument("unexpected argument '" + arg + "'\n" + kVerifyUsage);
  }
  if (positional != 2) throw std::invalid_argument(std::string("ORIGINAL and QUANTIZED are required\n") + kVerifyUsage);
  if (!stats_path.empty()) o.stats = stats_path;
  auto backend = make_backend("cpu");
  const pipeline::DetectedFormat detected = pipeline::detect_quantized_format(o.quantized, format);
  std::printf("format: %s (%s)\n", to_string(detected.format), detected.evidence.c_str());
  const pipeline::VerifyReport r = detected.format == pipeline::QuantizedFormat::smoothcheck
                                       ? pipeline::verify_export(*backend, o)
                                       : pipeline::audit_third_party(*backend, o, detected);

  const auto& q = r.quantization;
  if (detected.format == pipeline::QuantizedFormat::smoothcheck)
    std::printf("export: recipe %s, alpha %g, mode %s, weights %s\n", to_string(q.recipe), q.alpha, to_string(q.mode),
                to_string(q.weight_variant));
  else
    std::printf("runtime: engine profile %s (weights %s, epilogue %s)\n", to_string(q.engine),
                to_string(q.weight_variant), to_string(q.epilogue));
  for (const pipeline::RecoveredGroupSummary& g : r.recovered) {
    if (!g.smoothed) {
      std::printf("group %-40s not smoothed\n", (g.source + " -> " + g.fcs.front()).c_str());
      continue;
    }
    std::printf("group %-40s s in [%.4g, %.4g], consistency %.3f (<= 1), from %s", (g.source + " -> " + g.fcs.front()).c_str(),
                g.s_min, g.s_max, g.worst_consistency, g.evidence.c_str());
    if (!g.fit_recipe.empty())
      std::printf("; fit: recipe %s, alpha %.4f, residual %.3g over %lld channels", g.fit_recipe.c_str(), g.fit_alpha,
                  g.fit_residual, static_cast<long long>(g.fit_channels));
    std::printf("\n");
  }
  for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
  std::printf("total_size: declared %lld, layout %lld, stored %lld\n", static_cast<long long>(r.declared_total_size),
              static_cast<long long>(r.expected_total_size), static_cast<long long>(r.stored_total_size));
  if (!r.linears.empty()) {
    // The re-derivation columns in units of f32's unit roundoff; "-" where the check did not run.
    std::printf("%-36s %12s %12s %10s %10s %9s %7s\n", "linear", "err/bound", "max |err|", "s err(u)", "scale(u)",
                "midpoint", "wrong");
    const auto units = [](double v) {
      char text[16];
      if (v < 0) return std::string("-");
      std::snprintf(text, sizeof text, "%.2f", v);
      return std::string(text);
    };
    for (const auto& c : r.linears)
      std::printf("%-36s %12.6f %12.3e %10s %10s %9lld %7lld\n", c.name.c_str(), c.max_error_over_bound,
                  c.max_abs_error, units(c.migration_scale_error_u).c_str(), units(c.weight_scale_error_u).c_str(),
                  static_cast<long long>(c.midpoint_codes), static_cast<long long>(c.wrong_codes));
  }
  if (r.forward_skipped) std::printf("forward: skipped (--no-forward)\n");
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
  if (r.tokens > 0) std::printf("  per-token KL(float || W8A8): mean %.4f, max %.4f nats\n", r.mean_token_kl, r.max_token_kl);
  if (!r.linear_sqnr.empty()) {
    std::printf("  output SQNR per linear on the float model's activations, worst first:");
    for (std::size_t i = 0; i < r.linear_sqnr.size() && i < 5; ++i)
      std::printf("%s %s %.1f dB", i ? "," : "", r.linear_sqnr[i].name.c_str(), r.linear_sqnr[i].sqnr_db);
    std::printf(" (all %zu in --json)\n", r.linear_sqnr.size());
  }
  if (r.sentences > 0)
    std::printf("forward over %lld held-out chunks: sentence-embedding cosine min %.6f (limit %.4f), mean %.6f, "
                "max |delta| %.4f\n  diagnostic, weights only (float activations): min cosine %.6f\n",
                static_cast<long long>(r.sentences), r.min_embedding_cosine, r.thresholds.min_embedding_cosine,
                r.mean_embedding_cosine, r.max_abs_embedding_delta, r.weight_only_min_embedding_cosine);
  for (const pipeline::CheckOutcome& c : r.checks())
    std::printf("check %-16s %s%s\n", c.check.c_str(), to_string(c.state),
                c.state == pipeline::CheckState::not_run ? (": " + c.why_not_run).c_str() : "");
  for (const std::string& f : r.failures) std::printf("FAILED %s\n", f.c_str());
  if (!r.passed()) std::printf("verify: FAILED\n");
  else if (r.complete()) std::printf("verify: passed\n");
  else {
    std::string missing;
    for (const auto& [check, why] : r.not_run) missing += (missing.empty() ? "" : ", ") + check;
    std::printf("verify: INCOMPLETE: no check failed, but %s did not run (see above)\n", missing.c_str());
  }
  if (!json_path.empty()) {
    report::write_verify_results(json_path, r.to_json(), o.original, o.quantized, stats_path, &r.recovered_s);
  }
  return r.passed() ? 0 : 1;
}

}  // namespace smoothcheck
