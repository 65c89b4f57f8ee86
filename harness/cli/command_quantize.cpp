// `smoothcheck quantize MODEL --stats STATS ... --out DIR`: smooth, quantise and export.
#include <iostream>
#include <optional>
#include <string>

#include "harness/backends.h"
#include "harness/cli/arg_reader.h"
#include "harness/pipeline/alpha_file.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/quantize_export.h"
#include "harness/pipeline/quantized_format.h"
#include "harness/cli/commands.h"

namespace smoothcheck {

namespace {

const char* kQuantizeUsage = R"(usage: smoothcheck quantize MODEL --stats STATS --out DIR [--engine E] [--recipe R]
                             [--alpha A | --alpha-file FILE [--alpha-choice group|layer|global]]
                             [--mode fused|migration] [--format F] [--container safetensors|bin]
                             [--weight-variant V] [--smoothing-arithmetic model_dtype|float32]
                             [--max-shard-bytes N] [--no-migration-scales] [--no-smoothing] [--force]

Smooths a LLaMA or BERT checkpoint with calibration statistics (numerics.md §2-4; STATS:
`smoothcheck calibrate`'s safetensors or lmdeploy's inputs_stats.pth, told apart by content) the
way an engine does (--engine: its recipe, α, smoothing groups, weight quantiser and runtime), quantises every linear
per output channel to int8 (§5) on the CPU backend, and exports <linear>.weight int8 [O, C], <linear>.scale float32 [O, 1] and
<linear>.migration_scale float32 [C]; other tensors unchanged (fused mode: the norms divided by s).
Shards plus an index with an exact metadata.total_size, and config.json with quantization_config.
BERT (config.json model_type "bert"): migration mode only, since fused smoothing of a post-LayerNorm
model is not exact (the reasons are printed); query/key/value share s, value -> attention.output.dense
and intermediate.dense -> output.dense get their own; every other tensor, the I64 position_ids
included, is carried unchanged, as are vocab.txt and the sentence-transformers files.
The export is written beside DIR and renamed into place when complete; MODEL is never modified.

  --engine E           lmdeploy (default), smoothquant (the authors' code) or llmcompressor (with
                       compressed-tensors weights, run by vLLM); kernels/engine_profiles.h. LLaMA groups:
                       input_layernorm -> q,k,v and post_attention_layernorm -> gate,up for every engine;
                       lmdeploy adds v -> o (skipped under grouped-query attention in fused mode) and
                       up -> down. quantization_config records the engine and its runtime (per-token
                       activation quantiser, epilogue), which verify's forward check then runs.
                       The options below override one step of the profile, for experiments.
  --recipe R           smoothquant, lmdeploy or llmcompressor (weight statistic and s, §2-3;
                       llmcompressor smooths by the activation range max - min); default: the engine's
  --alpha A            migration strength in [0, 1] (default: the engine's, 0.5 for all three; the
                       authors' LLaMA recipes use 0.85)
  --alpha-file FILE    the alphas `smoothcheck sweep --out DIR` chose (DIR/alphas.json), one per group
                       (--alpha-choice group, default), per layer or the global one; recorded in
                       quantization_config.alpha_per_group, which verify re-derives s with
  --mode M             fused (default): s folded into the norms and fc->fc pairs;
                       migration: norms untouched, the runtime divides each linear's input by s
  --format F           whose checkpoint layout to write: smoothcheck (default: .scale float32 and
                       .migration_scale beside each int8 weight), compressed-tensors (int-quantized:
                       .weight_scale in the model's dtype; vLLM and compressed-tensors load it) or lmdeploy
                       (smooth_quant: .scale float32, as its QLinear). The last two keep no migration
                       vector: fused mode only, with the format's own weight quantiser (--engine
                       llmcompressor / lmdeploy). `verify` audits all three
  --container C        safetensors (default: model-0000K-of-0000N.safetensors + index) or bin
                       (pytorch_model-0000K-of-0000N.bin + pytorch_model.bin.index.json)
  --weight-variant V   lmdeploy (absmax/127, clamp, in float32), smoothquant, compressed_tensors (both in
                       the weight's dtype); default: the engine's
  --smoothing-arithmetic A
                       model_dtype (every engine's): for a bf16/f16 model, the statistics and s are
                       computed and every smoothed tensor rounded in the model's dtype, as the engines
                       work in place; float32: every smoothing step kept in float32. No difference for
                       a float32 model
  --max-shard-bytes N  shard size limit (default 5 GiB)
  --no-migration-scales  the pre-seed layout without <linear>.migration_scale (fused mode only)
  --no-smoothing       s = 1 everywhere: the plain W8A8 baseline that shows what smoothing buys
  --force              replace an existing DIR (atomically: the old export is removed only after
                       the new one is in place)
)";

}  // namespace

int command_quantize(int argc, char** argv) {
  pipeline::QuantizeOptions o;
  bool have_model = false;
  // Per-step overrides, applied over the engine's profile once every argument is read (any order).
  std::optional<Recipe> recipe;
  std::optional<float> alpha;
  std::string alpha_file;
  pipeline::AlphaChoice alpha_choice = pipeline::AlphaChoice::group;
  std::optional<WeightQuant> weight_variant;
  std::optional<SmoothingArithmetic> smoothing_arithmetic;
  for (cli::ArgReader args(argc, argv); args.next();) {
    const std::string arg = args.current();
    const auto value = [&args] { return args.value(); };
    if (args.help()) { std::cout << kQuantizeUsage; return 0; }
    else if (arg == "--stats") o.stats = value();
    else if (arg == "--out") o.out = value();
    else if (arg == "--engine") o.engine = pipeline::parse_engine(value());
    else if (arg == "--recipe") recipe = pipeline::parse_recipe(value());
    else if (arg == "--alpha") alpha = static_cast<float>(cli::parse_double(arg, value()));
    else if (arg == "--alpha-file") alpha_file = value();
    else if (arg == "--alpha-choice") alpha_choice = pipeline::parse_alpha_choice(value());
    else if (arg == "--mode") o.mode = pipeline::parse_mode(value());
    else if (arg == "--container") o.container = pipeline::parse_export_container(value());
    else if (arg == "--format") o.format = pipeline::parse_quantized_format(value());
    else if (arg == "--weight-variant") weight_variant = pipeline::parse_weight_variant(value());
    else if (arg == "--smoothing-arithmetic") smoothing_arithmetic = pipeline::parse_smoothing_arithmetic(value());
    else if (arg == "--max-shard-bytes") o.max_shard_bytes = static_cast<uint64_t>(cli::parse_int(arg, value(), 1));
    else if (arg == "--no-migration-scales") o.migration_scales = false;
    else if (arg == "--no-smoothing") o.smooth = false;
    else if (arg == "--force") o.force = true;
    else if (!arg.empty() && arg[0] != '-' && !have_model) { o.model = arg; have_model = true; }
    else throw std::invalid_argument("unexpected argument '" + arg + "'\n" + kQuantizeUsage);
  }
  if (!have_model || o.stats.empty() || o.out.empty())
    throw std::invalid_argument(std::string("MODEL, --stats and --out are required\n") + kQuantizeUsage);
  const pipeline::QuantizeOptions profile = pipeline::options_for_engine(o.engine);
  o.recipe = recipe.value_or(profile.recipe);
  o.alpha = alpha.value_or(profile.alpha);
  o.weight_variant = weight_variant.value_or(profile.weight_variant);
  o.fc_to_fc_pairs = profile.fc_to_fc_pairs;
  o.smoothing_arithmetic = smoothing_arithmetic.value_or(profile.smoothing_arithmetic);
  if (!alpha_file.empty()) {
    if (alpha) throw std::invalid_argument("--alpha and --alpha-file: give one");
    const auto family = pipeline::open_model_family(o.model);
    o.group_alphas = pipeline::read_alpha_file(alpha_file, family->smoothing_groups(o.mode, o.fc_to_fc_pairs),
                                               o.recipe, alpha_choice);
  }
  auto backend = make_backend("cpu");
  const pipeline::ExportSummary s = pipeline::quantize_and_export(*backend, o);
  std::cout << "wrote " << s.dir.string() << ": " << s.linears << " quantised linears, " << s.shards.size()
            << " shard(s), index " << s.index_file.filename().string() << " total_size " << s.total_size
            << " (engine " << to_string(o.engine) << ", recipe " << to_string(o.recipe) << ", alpha " << o.alpha << ", mode " << to_string(o.mode)
            << ", weights " << to_string(o.weight_variant) << ", smoothing in " << to_string(o.smoothing_arithmetic)
            << ")\n";
  return 0;
}

}  // namespace smoothcheck
