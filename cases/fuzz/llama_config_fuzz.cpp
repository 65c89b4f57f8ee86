// libFuzzer target: config.json (harness/checkpoint/llama_config.h). An accepted configuration must
// satisfy what the forward pass divides by, and the pipeline's first use of it (the list of quantised
// linears) must stay bounded: a config is a few hundred bytes that a user downloaded.
#include <cmath>

#include "fuzz_support.h"
#include "harness/checkpoint/llama_config.h"
#include "harness/models/quantized_layout.h"

SMOOTHCHECK_FUZZ_TARGET(llama_config) {
  using smoothcheck::fuzz::fuzz_require;
  static smoothcheck::fuzz::MemoryFile input;
  const auto c = smoothcheck::checkpoint::read_llama_config(input.rewrite(data, size));
  fuzz_require(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_hidden_layers > 0 && c.vocab_size > 0 &&
                   c.num_attention_heads > 0 && c.num_key_value_heads > 0 && c.max_position_embeddings > 0,
               "accepted a non-positive size");
  fuzz_require(c.hidden_size % c.num_attention_heads == 0 && c.head_dim() % 2 == 0 &&
                   c.num_attention_heads % c.num_key_value_heads == 0,
               "accepted heads that do not divide");
  fuzz_require(std::isfinite(c.rms_norm_eps) && c.rms_norm_eps > 0 && std::isfinite(c.rope_theta) && c.rope_theta > 0,
               "accepted a non-finite or non-positive eps or theta");
  const auto linears = smoothcheck::quantized_linears(smoothcheck::layout_config_from(c));
  fuzz_require(static_cast<std::int64_t>(linears.size()) == 7 * c.num_hidden_layers, "linear count");
}
