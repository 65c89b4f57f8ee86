// `smoothcheck sweep MODEL --stats STATS`: the W8A8 output error of every smoothing group at every α of
// a grid, and the α chosen per group, per layer and globally (harness/pipeline/alpha_sweep.h).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <unistd.h>

#include "harness/backends.h"
#include "harness/checkpoint/atomic_file.h"
#include "harness/cli/arg_reader.h"
#include "harness/cli/commands.h"
#include "harness/run_info.h"
#include "harness/pipeline/alpha_choice_comparison.h"
#include "harness/pipeline/alpha_sweep.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/model_family.h"

namespace smoothcheck {

namespace {

const char* kSweepUsage = R"(usage: smoothcheck sweep MODEL --stats STATS [--engine E] [--alphas A:B:STEP|A,B,...]
                          [--alpha-min A] [--alpha-max B] [--samples N] [--seq-len L] [--seed S]
                          [--tokens FILE | --corpus FILE...] [--out DIR]
                          [--whole-model [--heldout-sequences N] [--heldout-tokens N]]

For every smoothing group of the engine's plan and every alpha of the grid, the group's W8A8 output
error on calibration activations, computed as the engine computes: s from its recipe and the
statistics, its weight quantiser on the smoothed weights, its dynamic per-token activation quantiser
and int8 GEMM epilogue on the CPU backend, against the float linear on the float model's input.
Printed per group: SQNR (dB) at the chosen alpha, at 0.5 and unsmoothed, and the weight-only and
activation-only SQNR at the ends of the grid (the two halves alpha trades). The choice: the grid's
alpha within [--alpha-min, --alpha-max] with the highest SQNR, per group, per layer (the layer's
groups together) and global; a tie goes to the alpha nearer 0.5. LLaMA models are swept in fused
mode, BERT models in migration mode (the only exact one for a post-LayerNorm model).

  --stats FILE     calibration statistics (`smoothcheck calibrate`, or lmdeploy's inputs_stats.pth)
  --engine E       lmdeploy (default), smoothquant or llmcompressor: recipe, groups, quantisers, runtime
  --alphas G       the grid: start:stop:step or a comma list (default 0:1:0.05, 21 points)
  --alpha-min A, --alpha-max B  the range the choice is made in (default 0 and 1)
  --samples N, --seq-len L, --seed S, --tokens FILE, --corpus FILE (repeatable, BERT)
                   the calibration activations measured on, as for `calibrate` (default 16 x 128)
  --out DIR        write DIR/sweep.json (every point; schema smoothcheck.sweep/1) and DIR/alphas.json
                   (the choices; schema smoothcheck.alphas/1)
  --whole-model    also judge the choices on the whole model: export with per-group, per-layer, the
                   global, 0.5 and no smoothing (into DIR/exports, or a temporary folder), run each in W8A8
                   on held-out text and print, against the float model, its NLL rise, per-token KL and
                   argmax agreement (LLaMA: sequences the float model samples, seed --seed + 1000) or its
                   sentence-embedding cosine (BERT: the corpus's last chunks); then the sensitivity of the
                   global choice's export: each linear, and each layer, alone in W8A8 and all but it,
                   worst first (into sweep.json: paste the worst names into an ignore list)
  --heldout-sequences N  held-out sequences (default 4)
  --heldout-tokens N     tokens per held-out sequence (default 128; BERT: at most)
)";

void write_json(const std::filesystem::path& file, const nlohmann::json& j) {
  const std::string text = j.dump(2) + "\n";
  AtomicFileWriter w(file);
  w.write(text.data(), text.size());
  w.commit();
}

std::string db(double v) {
  char text[16];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

}  // namespace

int command_sweep(int argc, char** argv) {
  std::string model, stats_path, out;
  bool whole_model = false;
  pipeline::HeldOutOptions heldout;
  pipeline::SweepOptions o;
  o.alphas = pipeline::parse_alpha_grid("0:1:0.05");
  for (cli::ArgReader args(argc, argv); args.next();) {
    const std::string arg = args.current();
    const auto value = [&args] { return args.value(); };
    if (args.help()) { std::cout << kSweepUsage; return 0; }
    else if (arg == "--stats") stats_path = value();
    else if (arg == "--engine") o.engine = pipeline::parse_engine(value());
    else if (arg == "--alphas") o.alphas = pipeline::parse_alpha_grid(value());
    else if (arg == "--alpha-min") o.alpha_min = static_cast<float>(cli::parse_double(arg, value()));
    else if (arg == "--alpha-max") o.alpha_max = static_cast<float>(cli::parse_double(arg, value()));
    else if (arg == "--samples") o.calibration.samples = cli::parse_int(arg, value(), 1);
    else if (arg == "--seq-len") o.calibration.seq_len = cli::parse_int(arg, value(), 2);
    else if (arg == "--seed") o.calibration.seed = static_cast<uint64_t>(cli::parse_int(arg, value(), 0));
    else if (arg == "--tokens") o.calibration.tokens = std::filesystem::path(value());
    else if (arg == "--corpus") o.calibration.corpus.push_back(value());
    else if (arg == "--out") out = value();
    else if (arg == "--whole-model") whole_model = true;
    else if (arg == "--heldout-sequences") heldout.sequences = cli::parse_int(arg, value(), 1);
    else if (arg == "--heldout-tokens") heldout.tokens = cli::parse_int(arg, value(), 3);
    else if (args.positional() && model.empty()) model = arg;
    else throw std::invalid_argument("unexpected argument '" + arg + "'\n" + kSweepUsage);
  }
  if (model.empty() || stats_path.empty())
    throw std::invalid_argument(std::string("MODEL and --stats are required\n") + kSweepUsage);
  const std::unique_ptr<pipeline::ModelFamily> family = pipeline::open_model_family(model);
  const pipeline::CalibrationStats stats = pipeline::read_calibration_stats(stats_path, family->linears());
  auto backend = make_backend("cpu");
  const auto progress = [](double fraction, const char* phase) {
    std::fprintf(stderr, "sweep: %s %3.0f%%\n", phase, 100.0 * fraction);
  };
  const pipeline::SweepResult r = pipeline::sweep_alpha(*backend, *family, stats, o, progress);

  std::printf("engine %s (recipe %s), %zu groups x %zu alphas on %lld calibration tokens\n", to_string(r.engine.engine),
              to_string(r.engine.recipe), r.groups.size(), o.alphas.size(), static_cast<long long>(r.tokens));
  std::printf("%-44s %5s %7s %7s %10s %14s %14s\n", "group (source -> first fc)", "alpha", "SQNR", "at 0.5",
              "unsmoothed", "weights a0..1", "activ. a0..1");
  // "model.layers.3.mlp.up_proj" -> "layers.3.mlp.up_proj": the columns stay readable.
  const auto shorter = [](const std::string& name) { return name.rfind("model.", 0) == 0 ? name.substr(6) : name; };
  for (const pipeline::GroupSweep& g : r.groups) {
    const auto at = [&](float a) -> const pipeline::SweepPoint* {
      for (const pipeline::SweepPoint& p : g.points)
        if (std::fabs(p.alpha - a) < 1e-6f) return &p;
      return nullptr;
    };
    const pipeline::SweepPoint* best = at(g.best_alpha);
    const pipeline::SweepPoint* half = at(0.5f);
    const std::string fc = g.group.fcs.front();
    std::printf("%-44s %5.2f %7s %7s %10s %6s..%-6s %6s..%-6s\n",
                (shorter(g.group.source) + " -> " + fc.substr(fc.rfind('.') + 1)).c_str(),
                g.best_alpha, db(best->sqnr_db).c_str(), half ? db(half->sqnr_db).c_str() : "-",
                db(g.unsmoothed.sqnr_db).c_str(), db(g.points.front().weight_only_sqnr_db).c_str(),
                db(g.points.back().weight_only_sqnr_db).c_str(), db(g.points.front().activation_only_sqnr_db).c_str(),
                db(g.points.back().activation_only_sqnr_db).c_str());
  }
  for (const auto& [layer, a] : r.best_per_layer) std::printf("layer %-24s best alpha %.2f\n", layer.c_str(), a);
  std::printf("global best alpha %.2f\n", r.best_global);
  nlohmann::json document = pipeline::to_json(r);
  document["model"] = model;
  document["run"] = run_info();
  if (whole_model) {
    const std::filesystem::path scratch =
        out.empty() ? std::filesystem::temp_directory_path() / ("smoothcheck-sweep-" + std::to_string(::getpid()))
                    : std::filesystem::path(out) / "exports";
    heldout.seed = o.calibration.seed + 1000;
    heldout.corpus = o.calibration.corpus;
    const pipeline::AlphaChoiceComparison c =
        pipeline::compare_alpha_choices(*backend, *family, model, stats_path, r, scratch, heldout);
    if (out.empty()) std::filesystem::remove_all(scratch);
    const bool logits = c.measure == pipeline::ForwardComparison::logits;
    std::printf("whole model on %lld held-out sequences, %lld tokens (W8A8 against float):\n",
                static_cast<long long>(c.heldout_sequences), static_cast<long long>(c.heldout_tokens));
    for (const pipeline::ChoiceFigures& f : c.choices) {
      if (logits)
        std::printf("  %-12s NLL %+.4f nats/token, KL mean %.4f, argmax agreement %.2f%%\n", f.choice.c_str(),
                    f.figures.nll_increase(), f.figures.mean_token_kl, 100 * f.figures.argmax_agreement);
      else
        std::printf("  %-12s sentence-embedding cosine mean %.6f, min %.6f\n", f.choice.c_str(),
                    f.figures.mean_embedding_cosine, f.figures.min_embedding_cosine);
    }
    const auto print_ranked = [&](const char* what, const std::vector<pipeline::Sensitivity>& ranked, std::size_t n) {
      std::printf("sensitivity of the global choice's export by %s, worst first (%s: alone / all but these):\n", what,
                  pipeline::loss_name(c.measure));
      for (std::size_t i = 0; i < ranked.size() && i < n; ++i)
        std::printf("  %-44s %.6f / %.6f\n", ranked[i].name.c_str(), ranked[i].alone.loss(), ranked[i].all_but.loss());
    };
    print_ranked("layer", c.sensitivity.layers, c.sensitivity.layers.size());
    print_ranked("linear", c.sensitivity.linears, 8);
    document["whole_model"] = pipeline::to_json(c);
  }
  if (!out.empty()) {
    std::filesystem::create_directories(out);
    write_json(std::filesystem::path(out) / "sweep.json", document);
    write_json(std::filesystem::path(out) / "alphas.json", pipeline::alphas_json(r));
    std::printf("wrote %s/sweep.json and %s/alphas.json\n", out.c_str(), out.c_str());
  }
  return 0;
}

}  // namespace smoothcheck
