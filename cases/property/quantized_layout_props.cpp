// Property 3 (numerics.md §11): the quantised export's scale shapes follow in_features.
//  - every <linear>.migration_scale is float32 [in_features], every <linear>.scale float32 [O, 1], every
//    <linear>.weight int8 [O, C]; the unquantised tensors keep the model dtype;
//  - q/k/v share one migration vector and gate/up another: the stacked qkv_proj / gate_up_proj load
//    one [C] vector, and non-identical member vectors are refused with a clear error;
//  - exporting migration scales adds exactly 4 · Σ in_features bytes;
//  - LLaMA-2-7B: +4,554,752 bytes, 7,006,265,344 -> 7,010,820,096 (both totals reproduced exactly).
#include <map>
#include <stdexcept>

#include <gtest/gtest.h>

#include "cases/property/property_generators.h"
#include "cases/property/property_support.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck {
namespace {

std::map<std::string, ExportTensor> by_name(const std::vector<ExportTensor>& tensors) {
  std::map<std::string, ExportTensor> m;
  for (const ExportTensor& t : tensors) m[t.name] = t;
  return m;
}

int64_t added_bytes(const QuantizedLayoutConfig& c) {
  int64_t in_features = 0;
  for (const QuantizedLinear& l : quantized_linears(c)) in_features += l.in_features;
  return 4 * in_features;
}

using LayoutFunction = std::vector<ExportTensor> (*)(const QuantizedLayoutConfig&, bool);

void scale_shapes_follow_in_features(LayoutFunction layout, const QuantizedLayoutConfig& c) {
  const auto with = by_name(layout(c, true));
  const auto without = by_name(layout(c, false));
  RC_ASSERT(with.size() == without.size() + quantized_linears(c).size());
  for (const QuantizedLinear& l : quantized_linears(c)) {
    const ExportTensor& w = with.at(l.name + ".weight");
    const ExportTensor& s = with.at(l.name + ".scale");
    const ExportTensor& m = with.at(l.name + ".migration_scale");
    RC_ASSERT(w.dtype == DType::i8);
    RC_ASSERT(w.shape == (std::vector<int64_t>{l.out_features, l.in_features}));
    RC_ASSERT(s.dtype == DType::f32);
    RC_ASSERT(s.shape == (std::vector<int64_t>{l.out_features, 1}));
    RC_ASSERT(m.dtype == DType::f32);
    RC_ASSERT(m.shape == (std::vector<int64_t>{l.in_features}));
    RC_ASSERT(without.count(l.name + ".migration_scale") == 0u);
  }
  for (const auto& [name, t] : with)
    if (name.find("norm") != std::string::npos || name.find("embed") != std::string::npos || name == "lm_head.weight" ||
        name.find(".bias") != std::string::npos)
      RC_ASSERT(t.dtype == c.dtype);
  RC_ASSERT(total_size(layout(c, true)) - total_size(layout(c, false)) == added_bytes(c));
}

// A vector per member as calibration produces it: members of one stacked parameter read one input,
// so their migration scales are the same vector.
using Stacker = std::vector<float> (*)(const std::string&, const std::vector<MemberScale>&);
void stacked_members_share_one_vector(Stacker stack, const QuantizedLayoutConfig& c, uint64_t seed) {
  const auto tensors = by_name(quantized_export_tensors(c, true));
  const std::map<std::string, std::string> prefix{{"qkv_proj", "self_attn."}, {"gate_up_proj", "mlp."}};
  const int64_t layer = *rc::gen::inRange<int64_t>(0, c.num_hidden_layers).as("layer");
  for (const StackedParameter& p : llama_stacked_parameters()) {
    const std::string base = "model.layers." + std::to_string(layer) + "." + prefix.at(p.name);
    std::vector<MemberScale> members;
    const int64_t C = tensors.at(base + p.members.front() + ".migration_scale").shape.at(0);
    const std::vector<double> shared = generate_positive_scales(C, seed, false);
    for (const std::string& m : p.members) {
      const ExportTensor& t = tensors.at(base + m + ".migration_scale");
      RC_ASSERT(t.shape == (std::vector<int64_t>{C}));  // one input dimension for every member
      members.push_back({m, std::vector<float>(shared.begin(), shared.end())});
    }
    RC_ASSERT(stack(p.name, members) == members.front().values);
    // Any difference is refused, naming the stacked parameter and the channel.
    const std::size_t j = std::size_t(*rc::gen::inRange<int64_t>(0, int64_t(shared.size())).as("perturbed channel"));
    members.back().values[j] *= 1.5f;
    try {
      stack(p.name, members);
      RC_FAIL("non-identical member vectors were stacked");
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      RC_ASSERT(what.find(p.name) != std::string::npos);
      RC_ASSERT(what.find("channel " + std::to_string(j)) != std::string::npos);
    }
  }
}

}  // namespace

SMOOTHCHECK_RC_PROPERTY(QuantizedLayout, ScaleShapesFollowInFeatures, (const QuantizedLayoutConfig& c)) {
  scale_shapes_follow_in_features(&quantized_export_tensors, c);
}

SMOOTHCHECK_RC_PROPERTY(QuantizedLayout, StackedParametersShareOneMigrationVector,
                        (const QuantizedLayoutConfig& c, uint64_t seed)) {
  stacked_members_share_one_vector(&stacked_migration_scale, c, seed);
}

TEST(QuantizedLayout, Llama2_7bTotalsMatchTheSeedsIndex) {
  QuantizedLayoutConfig c;
  c.hidden_size = 4096;
  c.intermediate_size = 11008;
  c.num_hidden_layers = 32;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 32;
  c.vocab_size = 32000;
  c.dtype = DType::f16;
  EXPECT_EQ(added_bytes(c), 4554752);
  EXPECT_EQ(quantized_export_total_size(c, true) - quantized_export_total_size(c, false), 4554752);
  // Reproduced exactly: int8 linears, f32 [O, 1] scales, fp16 embeddings, norms and an untied lm_head
  // (no rotary inv_freq buffers in the index).
  EXPECT_EQ(quantized_export_total_size(c, false), 7006265344);
  EXPECT_EQ(quantized_export_total_size(c, true), 7010820096);
}

TEST(QuantizedLayout, StackingRefusesDifferentLengthsAndNoMembers) {
  EXPECT_THROW(stacked_migration_scale("qkv_proj", {}), std::invalid_argument);
  try {
    stacked_migration_scale("gate_up_proj", {{"gate_proj", {1.0f, 2.0f}}, {"up_proj", {1.0f}}});
    FAIL() << "different lengths were stacked";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("different lengths (2 and 1)"), std::string::npos) << e.what();
  }
}

// Can fail: a layout that sizes the migration scale by out_features (the loader bug of §11: treating
// an input-side vector as an output shard) is caught as soon as in_features ≠ out_features.
namespace {
std::vector<ExportTensor> layout_with_output_sized_migration(const QuantizedLayoutConfig& c, bool with) {
  std::vector<ExportTensor> t = quantized_export_tensors(c, with);
  for (ExportTensor& e : t)
    if (e.name.size() > 16 && e.name.compare(e.name.size() - 16, 16, ".migration_scale") == 0) {
      const std::string weight = e.name.substr(0, e.name.size() - 16) + ".weight";
      for (const ExportTensor& w : t)
        if (w.name == weight) e.shape = {w.shape[0]};
    }
  return t;
}
}  // namespace

SMOOTHCHECK_TWIN_OF_TEST(QuantizedLayout, ScaleShapesFollowInFeatures, CatchesMigrationScaleSizedByOutFeatures) {
  property::expect_counterexample("migration_scale_sized_by_out_features", [](const QuantizedLayoutConfig& c) {
    scale_shapes_follow_in_features(&layout_with_output_sized_migration, c);
  });
}

// Can fail: a stacker that loads the first member's vector without comparing the others (what a
// loader does when it treats q, k and v as copies) stacks non-identical vectors silently.
namespace {
std::vector<float> stacker_without_comparison(const std::string&, const std::vector<MemberScale>& members) {
  return members.front().values;
}
}  // namespace

SMOOTHCHECK_TWIN_OF_TEST(QuantizedLayout, StackedParametersShareOneMigrationVector, CatchesAStackerThatDoesNotCompare) {
  property::expect_counterexample("stacker_without_comparison", [](const QuantizedLayoutConfig& c, uint64_t seed) {
    stacked_members_share_one_vector(&stacker_without_comparison, c, seed);
  });
}

}  // namespace smoothcheck
