// `smoothcheck verify ORIGINAL QUANTIZED`: reloads a quantized export and checks it against the model
// it came from, in the order a failure is cheapest to explain:
//  1. layout: every tensor of the family's export layout with its dtype and shape, nothing else, and
//     the index's metadata.total_size exact;
//  2. loader: q/k/v and gate/up each share one migration vector (stacked_scales.h);
//  3. re-derivation (verify_rederivation.h): with the calibration statistics, every migration scale
//     recomputed from the recorded recipe and α; every weight scale and code recomputed by the recorded
//     weight variant from the original weight and s. Then weights: q·scale, un-smoothed (÷ s per input
//     channel, × the fused fc->fc row divisor), matches the original within numerics.md §8's
//     per-element bound scale/2 (also divided by s), reported per linear as max error / bound;
//     unquantised tensors bit-identical (fused norms: original / s within the stored dtype's rounding);
//  4. forward: the model family's comparison of the W8A8 export with the float model (model_family.h):
//     LLaMA's logits on a sequence the original samples (max |Δlogit|, argmax agreement, mean NLL),
//     BERT's sentence embeddings of held-out text (cosine).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/pipeline/linear_sqnr.h"
#include "harness/pipeline/quantization_config.h"
#include "harness/models/smoothing_plan.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

// The pass/fail lines. Weight errors are a theorem (§8), so their threshold is the bound itself plus
// float slack; the forward thresholds are empirical, measured on stories260K (see verify.cpp).
struct VerifyThresholds {
  // Smoothing rounds W·s once or twice in f32 before quantisation, so the stored codes are exact for a
  // weight that differs from the ideal by ≤ 2u·|W_s| ≤ 2u·128·scale: ≤ 3.1e-5 of the bound. 1e-3 leaves
  // room for the float64 un-smoothing and nothing for a wrong code (a code off by one is ratio ≥ 2).
  double max_weight_error_over_bound = 1.0 + 1e-3;
  // Measured on stories260K (hf layout, 32 x 256-token calibration, 256-token sequences, seeds 1-2,
  // every recipe, alpha 0-1, both modes; 28 runs): argmax agreement 77.3-89.8 %, NLL increase
  // +0.035..+0.118 nats/token, max |Δlogit| 3.5-6.6 (logits reach ~16). A 64-wide model has no
  // redundancy to average int8 noise away, and text sampled at temperature 1 is full of near-ties
  // whose argmax flips; the weight-only diagnostic shows how much is the activations' share. The
  // limits below sit about 2x beyond the worst measurement (the tests use shorter sequences and a
  // smaller calibration, hence noisier figures), while a real defect lands far outside them: the
  // same migration export run without its runtime division gives 2 % agreement, +8.8 nats, Δ 27.
  //
  // How they follow from the bounds: §8 bounds each linear's output error by
  // Σ_k (|x_k|·b_n/2 + |ŵ_k|·a_m/2), with a_m = max|x|/127 and b_n = max|w_n|/127, i.e. a relative
  // error of order (‖x‖₁·max|w_n| + ‖w_n‖₁·max|x|) / (254·|y_n|): a few percent per linear at width
  // 64, compounding over 5 layers × 7 linears into logit noise of a few units on logits of ~16 — the
  // measured 2.5-6.6. The weight checks prove each linear meets its bound, so the forward limits only
  // have to separate "within the bounds" from what the weight checks cannot see in the tensors: an
  // export run without its division by s, or weights never multiplied by the s the runtime divides
  // by. Both are errors of the size of the smoothing itself (s_j spans one to two orders of magnitude
  // here), not of the quantiser's half-step, and land far outside: max |Δlogit| 17.8 / 19.8, argmax
  // 12.5 % / 15.6 %, NLL +4.1 / +4.5 nats (tampered_export_cases.cpp, ForwardThresholds).
  double min_argmax_agreement = 0.70;
  double max_nll_increase = 0.25;      // nats per token
  double max_abs_logit_delta = 10.0;
  // BERT (sentence embeddings, L2-normalised, of held-out corpus chunks): see bert_family.cpp.
  double min_embedding_cosine = 0.98;
};

struct VerifyOptions {
  std::filesystem::path original;
  std::filesystem::path quantized;
  // The calibration statistics the export was made from: without them the migration scales cannot be
  // re-derived (the report says so, and does not call that check passed).
  std::optional<std::filesystem::path> stats;
  int64_t tokens = 256;  // LLaMA: length of the sampled sequence, BOS included
  // LLaMA: false skips step 4 (the forward passes load the whole model at float32 and, for a 1.1B model,
  // dominate the run); steps 1-3 still run in full, one layer in memory at a time. The report says so.
  bool forward = true;
  uint64_t seed = 0;
  int64_t sentences = 16;  // BERT: held-out chunks from the end of the corpus (bert_calibrate.h)
  int64_t seq_len = 128;   // BERT: tokens per chunk at most
  VerifyThresholds thresholds;
};

struct LinearCheck {
  std::string name;
  double max_error_over_bound = 0;  // max over elements of |W - Ŵ| / (scale_r · rowdiv_r / (2 s_j))
  double max_abs_error = 0;
  int64_t worst_row = 0, worst_col = 0;
  // Re-derivation (verify_rederivation.h), in units of f32's unit roundoff; -1: not re-derived.
  double migration_scale_error_u = -1;  // max_j |stored s − recipe s| / (u · recipe s)
  double weight_scale_error_u = -1;     // max_r |stored scale − formula| / (u · formula)
  int64_t midpoint_codes = 0;           // codes on a rounding midpoint within the arithmetic's error
  int64_t wrong_codes = 0;
};

// The checks, in the order verify runs them; a failure's text starts with its check's name.
enum class CheckState { passed, failed, not_run };
const char* to_string(CheckState s);
struct CheckOutcome {
  std::string check;
  CheckState state = CheckState::not_run;
  std::string why_not_run;  // for not_run
};
const std::vector<std::string>& verify_check_names();

// What verify's forward check compares (the model family decides): a language model's logits on a
// sampled sequence, or an encoder's sentence embeddings of held-out text.
enum class ForwardComparison { logits, sentence_embeddings };

// One smoothing group of a third-party checkpoint, as the audit recovered it (recovered_smoothing.h),
// with the recipe and α that best explain its s when calibration statistics are given.
struct RecoveredGroupSummary {
  std::string source;
  std::vector<std::string> fcs;
  bool smoothed = false;
  std::string evidence;            // how s was read
  double s_min = 1, s_max = 1;
  double worst_consistency = 0;    // max over the fcs' elements of |error| / allowance (> 1 failed)
  std::string fit_recipe;          // empty: no statistics, or the group was not smoothed
  double fit_alpha = -1, fit_residual = -1;  // residual: max relative |s_fit − s| over the channels fitted
  int64_t fit_channels = 0;
};

struct VerifyReport {
  std::string family = "llama";  // the original's model family (model_family.h)
  // The quantised checkpoint's format (quantized_format.h) and what decided it; a third-party one is
  // audited by third_party_audit.h with its own list of checks.
  std::string format = "smoothcheck";
  std::string format_evidence;
  std::vector<std::string> check_list;  // empty: verify_check_names()
  std::vector<RecoveredGroupSummary> recovered;
  // Each quantised linear's recovered s (column scales), for the report's activation profile; not in
  // to_json (the profile carries what it draws).
  std::map<std::string, std::vector<float>> recovered_s;
  std::vector<std::string> notes;        // what the engine's loader does to these numbers, and the like
  ForwardComparison forward_comparison = ForwardComparison::logits;
  QuantizationConfig quantization;
  std::vector<std::string> failures;  // each names the tensor or metric and the problem
  std::vector<LinearCheck> linears;
  int64_t declared_total_size = -1;   // -1: the index states none
  int64_t expected_total_size = 0;
  int64_t stored_total_size = 0;      // sum of the stored tensors' bytes
  int64_t tokens = 0;
  bool forward_skipped = false;  // VerifyOptions::forward was false
  double max_abs_logit_delta = 0;
  double argmax_agreement = 0;
  double nll_original = 0, nll_quantized = 0;
  // Per-token KL(p_float ‖ p_W8A8) of the next-token distributions over the sequence, nats: a figure,
  // no threshold (the argmax and NLL limits decide).
  double mean_token_kl = 0, max_token_kl = 0;
  // Each linear's output SQNR on the float model's activations, worst first (linear_sqnr.h); a figure.
  std::vector<LinearSqnr> linear_sqnr;
  // Diagnostic, no threshold: the same export with float activations (weights-only quantisation).
  double weight_only_max_abs_logit_delta = 0, weight_only_argmax_agreement = 0, weight_only_nll = 0;
  // BERT's forward check: cosine of W8A8 and float sentence embeddings over held-out chunks.
  int64_t sentences = 0;
  double min_embedding_cosine = 0, mean_embedding_cosine = 0, max_abs_embedding_delta = 0;
  double weight_only_min_embedding_cosine = 0;
  VerifyThresholds thresholds;
  std::set<std::string> ran;                    // checks that ran (in full)
  std::map<std::string, std::string> not_run;   // checks that could not run, and why

  bool passed() const { return failures.empty(); }
  // Every check of verify_check_names() that applies ran: no check was left out for want of input.
  bool complete() const { return not_run.empty(); }
  // Each applicable check: failed when a failure names it, else passed when it ran, else not run.
  std::vector<CheckOutcome> checks() const;
  nlohmann::json to_json() const;  // schema smoothcheck.verify/1
};

// Problems with the inputs themselves (unreadable, an unknown model, no quantization_config) throw
// CheckpointError; everything the checks find is reported in VerifyReport::failures. Every model family
// (model_family.h) goes through the same steps; the family answers its tensors and its forward check.
VerifyReport verify_export(kernels::Backend& backend, const VerifyOptions& o);

}  // namespace smoothcheck::pipeline
