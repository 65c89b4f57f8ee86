// Which tensors a smoothing vector s is applied to, per architecture (numerics.md §4), and whether a
// given mapping is exact. The tables say what lmdeploy does; the validator says what is *true*:
// fused norm smoothing is exact only when the norm's output feeds nothing but the listed fcs, and
// fc->fc smoothing only across a map that is linear in the previous fc's output, with matching sizes.
// The pipeline asks validate_smoothing_plan before it touches a weight, so a post-LN model is refused
// with a reason instead of being silently broken.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/options.h"

namespace smoothcheck {

enum class Architecture { llama, bert };
const char* to_string(Architecture a);

// How a module's output reaches one of its consumers.
enum class Flow {
  direct,             // the consumer reads the output itself (norm -> fc, fc -> fc)
  attention_value,    // softmax(QK^T) · V: linear in V
  swiglu_up,          // silu(gate) * up: linear in up for a fixed gate
  swiglu_gate,        // silu(gate) * up: not linear in gate
  gelu,               // gelu(h): not linear
  residual_stream,    // added into the residual (the consumer sees the output unscaled)
};
const char* to_string(Flow f);
bool is_linear(Flow f);  // whether the consumer's input is a linear function of this output

struct Consumer {
  std::string module;
  Flow flow = Flow::direct;
};

struct LinearShape {
  int64_t in_features = 0;
  int64_t out_features = 0;
};

// One block's dataflow: every norm and linear, what consumes its output and how, and each linear's size.
struct BlockGraph {
  Architecture architecture = Architecture::llama;
  std::map<std::string, std::vector<Consumer>> consumers;  // by producing module
  std::map<std::string, LinearShape> linears;              // by linear name
  std::vector<std::string> norms;
};

// The sizes of one transformer block.
struct BlockDims {
  int64_t hidden = 0;
  int64_t intermediate = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;  // == heads without grouped-query attention
  int64_t kv_dim() const { return heads > 0 ? hidden / heads * kv_heads : 0; }
};

// LLaMA (pre-norm, SwiGLU, GQA) with transformers' module names, relative to the layer.
BlockGraph llama_block_graph(const BlockDims& d);
// BERT (post-LN, GELU) with transformers' module names; the output LayerNorm's consumers are the next
// layer's query/key/value, named "next.attention.self.{query,key,value}".
BlockGraph bert_block_graph(const BlockDims& d);

enum class SourceKind { norm, linear };

// s is computed on the input of `fcs`; `source` is the module whose output that input is.
struct SmoothingGroup {
  std::string source;
  SourceKind kind = SourceKind::norm;
  std::vector<std::string> fcs;
};

struct SmoothingPlan {
  Architecture architecture = Architecture::llama;
  SmoothMode mode = SmoothMode::fused;
  std::vector<SmoothingGroup> groups;
};

// lmdeploy's LLaMA mapping: input_layernorm -> q,k,v; post_attention_layernorm -> gate,up; v -> o
// (left out when v_proj's out_features < o_proj's in_features, as lmdeploy does under GQA); up -> down.
// In migration mode the norms are untouched and o_proj/down_proj get their own runtime scale, so the
// fc->fc groups are listed as groups whose source is the previous linear, with the same fcs.
SmoothingPlan llama_smoothing_plan(const BlockDims& d, SmoothMode mode);
// The plan without its fc->fc groups (those whose source is a linear): the SmoothQuant authors' and
// llm-compressor's LLaMA mappings smooth norm -> fcs only (kernels/engine_profiles.h).
SmoothingPlan without_fc_to_fc_groups(SmoothingPlan plan);
// The classic fused mapping applied to BERT: attention.output.LayerNorm -> intermediate.dense,
// output.LayerNorm -> next query/key/value, value -> attention.output.dense, intermediate.dense ->
// output.dense. Invalid (the LayerNorm outputs are also the residual, and GELU is not linear); it
// exists so that the validator can be shown to refuse it.
SmoothingPlan bert_fused_smoothing_plan(const BlockDims& d);
// The same groups under `mode`. In migration mode every linear divides its own input by s at run time
// and no norm or previous linear is touched, so the plan is exact whatever lies between source and fc;
// the groups then only say which linears share an s (query/key/value).
SmoothingPlan bert_smoothing_plan(const BlockDims& d, SmoothMode mode);

struct PlanProblem {
  std::string group;   // "<source> -> {fcs}"
  std::string reason;  // why the group is not exact
};

struct PlanValidation {
  std::vector<PlanProblem> problems;
  bool valid() const { return problems.empty(); }
  std::string message() const;  // every problem, one per line; empty when valid
};

PlanValidation validate_smoothing_plan(const BlockGraph& graph, const SmoothingPlan& plan);

}  // namespace smoothcheck
