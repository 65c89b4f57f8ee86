// `smoothcheck forward MODEL --tokens "1 403 407"`: the float32 forward pass of a model at every
// position, printed so that anyone can hold it against another implementation (llama2.c's run.c prints
// its logits the same way: one line per position, "%f" per value).
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "harness/checkpoint/atomic_file.h"
#include "harness/cli/arg_reader.h"
#include "harness/pipeline/model_family.h"
#include "harness/cli/commands.h"

namespace smoothcheck {

namespace {

const char* kForwardUsage = R"(usage: smoothcheck forward MODEL --tokens "ID ID ..." [--out FILE]

Runs the float32 forward pass of MODEL (a model directory or checkpoint file, as `calibrate` takes)
over the given token ids, positions 0.. in order, and prints one line per position:
  LLaMA  the vocab_size logits after the token at that position (causal attention, as run.c feeds
         tokens one at a time)
  BERT   the hidden_size components of the last hidden state (no pooling)
Values are printed with "%f" (six decimals), space-separated.

  --tokens IDS  token ids separated by spaces or commas (required)
  --out FILE    write there (atomically) instead of to standard output
)";

std::vector<int64_t> parse_tokens(const std::string& text) {
  std::string spaced = text;
  for (char& c : spaced)
    if (c == ',') c = ' ';
  std::istringstream in(spaced);
  std::vector<int64_t> ids;
  std::string word;
  while (in >> word) ids.push_back(cli::parse_int("--tokens", word, 0));
  if (ids.empty()) throw std::invalid_argument("--tokens holds no token ids");
  return ids;
}

std::string format_rows(const at::Tensor& rows) {
  const at::Tensor t = rows.to(at::kFloat).contiguous();
  const int64_t R = t.size(0), C = t.size(1);
  const float* p = t.data_ptr<float>();
  std::string out;
  char buf[64];
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t c = 0; c < C; ++c) {
      std::snprintf(buf, sizeof buf, c ? " %f" : "%f", static_cast<double>(p[r * C + c]));
      out += buf;
    }
    out += '\n';
  }
  return out;
}

}  // namespace

int command_forward(int argc, char** argv) {
  std::string model, tokens_text, out;
  for (cli::ArgReader args(argc, argv); args.next();) {
    const std::string arg = args.current();
    const auto value = [&args] { return args.value(); };
    if (args.help()) { std::cout << kForwardUsage; return 0; }
    else if (arg == "--tokens") tokens_text = value();
    else if (arg == "--out") out = value();
    else if (!arg.empty() && arg[0] != '-' && model.empty()) model = arg;
    else throw std::invalid_argument("unexpected argument '" + arg + "'\n" + kForwardUsage);
  }
  if (model.empty() || tokens_text.empty())
    throw std::invalid_argument(std::string("MODEL and --tokens are required\n") + kForwardUsage);
  const std::vector<int64_t> ids = parse_tokens(tokens_text);
  const at::Tensor tokens = at::tensor(ids, at::kLong);

  const at::Tensor rows = pipeline::open_model_family(model)->forward(tokens);
  const std::string text = format_rows(rows);
  if (out.empty()) {
    std::cout << text;
  } else {
    AtomicFileWriter file(out);
    file.write(text.data(), text.size());
    file.commit();
  }
  return 0;
}

}  // namespace smoothcheck
