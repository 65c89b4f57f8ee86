// harness/smoothing_plan: the mapping tables say what lmdeploy does, the validator says what is exact.
// Known answers (the exact reasons matter: the pipeline prints them to the user) plus one property:
// every LLaMA plan, fused or migration, GQA or not, is valid (and its twin: a plan keeping v -> o under
// GQA is not).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "cases/property/property_generators.h"
#include "cases/property/property_support.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck {
namespace {

BlockDims llama7b() { return {4096, 11008, 32, 32}; }
BlockDims llama3_8b_gqa() { return {4096, 14336, 32, 8}; }

bool mentions(const PlanValidation& v, const std::string& needle) { return v.message().find(needle) != std::string::npos; }

TEST(SmoothingPlan, LlamaFusedMappingIsLmdeploys) {
  const SmoothingPlan p = llama_smoothing_plan(llama7b(), SmoothMode::fused);
  ASSERT_EQ(p.groups.size(), 4u);
  EXPECT_EQ(p.groups[0].source, "input_layernorm");
  EXPECT_EQ(p.groups[0].fcs, (std::vector<std::string>{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}));
  EXPECT_EQ(p.groups[1].fcs, (std::vector<std::string>{"mlp.gate_proj", "mlp.up_proj"}));
  EXPECT_EQ(p.groups[2].source, "self_attn.v_proj");
  EXPECT_EQ(p.groups[3].source, "mlp.up_proj");
  EXPECT_TRUE(validate_smoothing_plan(llama_block_graph(llama7b()), p).valid());
}

TEST(SmoothingPlan, GqaDropsVToOInFusedModeOnly) {
  const SmoothingPlan fused = llama_smoothing_plan(llama3_8b_gqa(), SmoothMode::fused);
  for (const SmoothingGroup& g : fused.groups) EXPECT_NE(g.source, "self_attn.v_proj");
  EXPECT_TRUE(validate_smoothing_plan(llama_block_graph(llama3_8b_gqa()), fused).valid());
  const SmoothingPlan migration = llama_smoothing_plan(llama3_8b_gqa(), SmoothMode::migration);
  EXPECT_EQ(migration.groups.size(), 4u);
  EXPECT_TRUE(validate_smoothing_plan(llama_block_graph(llama3_8b_gqa()), migration).valid());
}

TEST(SmoothingPlan, ForcingVToOUnderGqaIsRefusedWithTheSizes) {
  SmoothingPlan p = llama_smoothing_plan(llama3_8b_gqa(), SmoothMode::fused);
  p.groups.push_back({"self_attn.v_proj", SourceKind::linear, {"self_attn.o_proj"}});
  const PlanValidation v = validate_smoothing_plan(llama_block_graph(llama3_8b_gqa()), p);
  EXPECT_FALSE(v.valid());
  EXPECT_TRUE(mentions(v, "out_features 1024")) << v.message();
  EXPECT_TRUE(mentions(v, "in_features 4096")) << v.message();
}

TEST(SmoothingPlan, BertFusedNormSmoothingIsInvalidBecauseOfTheResidual) {
  const BlockDims d{768, 3072, 12, 12};
  const PlanValidation v = validate_smoothing_plan(bert_block_graph(d), bert_fused_smoothing_plan(d));
  ASSERT_FALSE(v.valid());
  EXPECT_TRUE(mentions(v, "fused smoothing of attention.output.LayerNorm is invalid: its output also feeds output.LayerNorm via the residual stream"))
      << v.message();
  EXPECT_TRUE(mentions(v, "fused smoothing of output.LayerNorm is invalid")) << v.message();
  EXPECT_TRUE(mentions(v, "GELU (not linear)")) << v.message();
  // value -> attention.output.dense crosses attention, linear in V: not among the problems.
  EXPECT_FALSE(mentions(v, "attention.self.value -> {attention.output.dense}")) << v.message();
}

TEST(SmoothingPlan, BertMigrationIsValid) {
  const BlockDims d{768, 3072, 12, 12};
  SmoothingPlan p = bert_fused_smoothing_plan(d);
  p.mode = SmoothMode::migration;  // norms untouched, each fc divides its own input at run time
  EXPECT_TRUE(validate_smoothing_plan(bert_block_graph(d), p).valid()) << validate_smoothing_plan(bert_block_graph(d), p).message();
}

TEST(SmoothingPlan, AGroupThatLeavesOutAReaderIsRefused) {
  SmoothingPlan p = llama_smoothing_plan(llama7b(), SmoothMode::fused);
  p.groups[0].fcs = {"self_attn.q_proj", "self_attn.k_proj"};  // v_proj would read x / s unsmoothed
  const PlanValidation v = validate_smoothing_plan(llama_block_graph(llama7b()), p);
  EXPECT_FALSE(v.valid());
  EXPECT_TRUE(mentions(v, "also feeds self_attn.v_proj")) << v.message();
}

TEST(SmoothingPlan, SmoothingAcrossTheSwigluGateIsRefused) {
  SmoothingPlan p = llama_smoothing_plan(llama7b(), SmoothMode::fused);
  p.groups.push_back({"mlp.gate_proj", SourceKind::linear, {"mlp.down_proj"}});
  const PlanValidation v = validate_smoothing_plan(llama_block_graph(llama7b()), p);
  EXPECT_FALSE(v.valid());
  EXPECT_TRUE(mentions(v, "SwiGLU gate")) << v.message();
}

using PlanBuilder = SmoothingPlan (*)(const BlockDims&, SmoothMode);
void llama_plan_is_valid(PlanBuilder plan_of, const BlockDims& d, SmoothMode mode) {
  const PlanValidation v = validate_smoothing_plan(llama_block_graph(d), plan_of(d, mode));
  if (!v.valid()) RC_LOG() << v.message();
  RC_ASSERT(v.valid());
}

// A builder that keeps v_proj -> o_proj in fused mode under grouped-query attention too (lmdeploy
// skips it there: v_proj's out_features < o_proj's in_features, so s cannot be folded into v_proj).
SmoothingPlan llama_plan_keeping_v_to_o_under_gqa(const BlockDims& d, SmoothMode mode) {
  SmoothingPlan p = llama_smoothing_plan(d, mode);
  if (mode != SmoothMode::fused) return p;
  for (const SmoothingGroup& g : p.groups)
    if (g.source == "self_attn.v_proj") return p;
  p.groups.push_back({"self_attn.v_proj", SourceKind::linear, {"self_attn.o_proj"}});
  return p;
}

SMOOTHCHECK_RC_PROPERTY(SmoothingPlanProperty, EveryLlamaPlanIsValid, (const BlockDims& d, SmoothMode mode)) {
  llama_plan_is_valid(&llama_smoothing_plan, d, mode);
}

// Can fail: the plan that keeps v -> o under GQA is refused as soon as kv_heads < heads in fused mode.
SMOOTHCHECK_TWIN_OF_TEST(SmoothingPlanProperty, EveryLlamaPlanIsValid, CatchesVToOKeptUnderGqa) {
  property::expect_counterexample("llama_plan_keeping_v_to_o_under_gqa", [](const BlockDims& d, SmoothMode mode) {
    llama_plan_is_valid(&llama_plan_keeping_v_to_o_under_gqa, d, mode);
  });
}

}  // namespace
}  // namespace smoothcheck
