// `smoothcheck calibrate MODEL --out STATS`: per-linear input statistics of a model, by its family (model_family.h).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "harness/backends.h"
#include "harness/cli/arg_reader.h"
#include "harness/pipeline/lmdeploy_inputs_stats.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/staged_directory.h"
#include "harness/cli/commands.h"

namespace smoothcheck {

namespace {

const char* kCalibrateUsage = R"(usage: smoothcheck calibrate MODEL --out STATS [--samples N] [--seq-len L] [--seed S]
                              [--corpus FILE]... [--tokens FILE] [--stats-format smoothcheck|lmdeploy]
                              [--force]

Captures the input of every quantised linear of a model and reduces it per input channel with the CPU
backend. LLaMA (7 linears per layer; lm_head is not quantised): token sequences the model samples
itself (from BOS=1, temperature 1, the given seed: stories260K ships without a tokenizer). BERT
(config.json model_type "bert", 6 linears per layer): real English text, Debian's licence texts under
/usr/share/common-licenses (or --corpus files), tokenised with the model's vocab.txt and packed into
chunks of at most L tokens; the first N chunks are used, the end of the corpus is held out for verify.
Statistics: reduces it per input channel with the CPU backend's channel_stats
kernel using lmdeploy's running rules (numerics.md §1): absmax and max by running max, min by
running min, mean and absmean as the mean of per-sequence means. Writes safetensors with
"<linear>.absmax", ".min", ".max", ".mean", ".absmean", float32 [in_features] each, or with
--stats-format lmdeploy the inputs_stats.pth that lmdeploy's calibrate writes.

  MODEL          a model directory (model.safetensors, a sharded index, pytorch_model*.bin, or a
                 llama2.c .bin) with config.json where the format needs one
  --out STATS    the statistics file to write (atomically; refused if it exists, unless --force)
  --samples N    sequences (default 16; BERT: chunks, at most half the corpus); each is one batch
  --seq-len L    tokens per sequence including BOS (default 128, at most max_position_embeddings);
                 LLaMA sampling runs one forward step per token, from a key/value cache
  --seed S       LLaMA sampling seed (default 0)
  --corpus FILE  BERT: a UTF-8 text file to calibrate on instead of the licence texts (repeatable)
  --tokens FILE  LLaMA: calibrate on these token ids instead of sampling (JSON {"sequences": [[id, ...],
                 ...]}, one length): e.g. the sequences another tool calibrated on, so that verify can
                 fit the recipe and alpha of its checkpoint on the same statistics
                 (cases/third_party/stories260K/calibration_tokens.json)
  --stats-format smoothcheck (default) or lmdeploy: torch.save of {"max", "min", "mean", "absmax",
                 "absmean": {module name: tensor [in_features]}}, modules in forward order, float16
                 for a float16 model and float32 otherwise, as lmdeploy's observers end up (lmdeploy
                 reads it with torch.load(weights_only=True) and smooths by its 'absmax'). Every
                 --stats reads either format, told apart by content; of an lmdeploy file, absmax, min
                 and max are required, mean and absmean checked when present, other keys ignored
  --force        replace an existing STATS file
Progress goes to stderr.
)";

}  // namespace

int command_calibrate(int argc, char** argv) {
  std::string model, out;
  pipeline::CalibrationOptions o;
  bool force = false;
  pipeline::StatsFormat format = pipeline::StatsFormat::smoothcheck;
  for (cli::ArgReader args(argc, argv); args.next();) {
    const std::string arg = args.current();
    const auto value = [&args] { return args.value(); };
    if (args.help()) { std::cout << kCalibrateUsage; return 0; }
    else if (arg == "--out") out = value();
    else if (arg == "--samples") o.samples = cli::parse_int(arg, value(), 1);
    else if (arg == "--seq-len") o.seq_len = cli::parse_int(arg, value(), 2);
    else if (arg == "--seed") o.seed = static_cast<uint64_t>(cli::parse_int(arg, value(), 0));
    else if (arg == "--corpus") o.corpus.push_back(value());
    else if (arg == "--tokens") o.tokens = std::filesystem::path(value());
    else if (arg == "--stats-format") format = pipeline::parse_stats_format(value());
    else if (arg == "--force") force = true;
    else if (!arg.empty() && arg[0] != '-' && model.empty()) model = arg;
    else throw std::invalid_argument("unexpected argument '" + arg + "'\n" + kCalibrateUsage);
  }
  if (model.empty() || out.empty()) throw std::invalid_argument(std::string("MODEL and --out are required\n") + kCalibrateUsage);
  if (std::filesystem::exists(out) && !force) throw std::invalid_argument(out + " already exists (pass --force to replace it)");
  if (pipeline::path_within(out, model)) throw std::invalid_argument("refusing to write " + out + " inside the model " + model);

  const std::unique_ptr<pipeline::ModelFamily> family = pipeline::open_model_family(model);
  auto backend = make_backend("cpu");
  const auto progress = [](double fraction, const char* phase) {
    std::fprintf(stderr, "calibrate: %s %3.0f%%\n", phase, 100.0 * fraction);
  };
  const pipeline::CalibrationStats stats = family->calibrate(*backend, o, progress);
  std::string written;
  if (format == pipeline::StatsFormat::lmdeploy) {
    // lmdeploy's file has no place for metadata: the model and the settings are not recorded.
    const DType dtype = pipeline::lmdeploy_stats_dtype(family->stored_dtype());
    pipeline::write_lmdeploy_inputs_stats(out, stats, family->linears(), dtype);
    written = std::string("lmdeploy inputs_stats.pth, ") + to_string(dtype);
  } else {
    pipeline::CalibrationStats with_source = stats;
    with_source.metadata["model"] = std::filesystem::absolute(model).string();
    pipeline::write_calibration_stats(out, with_source);
    written = "safetensors, f32";
  }
  std::cout << "wrote " << out << " (" << written << "): " << stats.linears.size() << " linears x 5 statistics over "
            << stats.metadata.at("samples") << " batches of at most " << stats.metadata.at("seq_len") << " tokens\n";
  return 0;
}

}  // namespace smoothcheck
