#include "harness/models/smoothing_plan.h"

#include <algorithm>
#include <sstream>

namespace smoothcheck {

const char* to_string(Architecture a) { return a == Architecture::llama ? "llama" : "bert"; }

const char* to_string(Flow f) {
  switch (f) {
    case Flow::direct: return "direct";
    case Flow::attention_value: return "attention (linear in V)";
    case Flow::swiglu_up: return "SwiGLU (linear in up)";
    case Flow::swiglu_gate: return "SwiGLU gate (silu, not linear)";
    case Flow::gelu: return "GELU (not linear)";
    case Flow::residual_stream: return "the residual stream";
  }
  return "?";
}

bool is_linear(Flow f) {
  return f == Flow::direct || f == Flow::attention_value || f == Flow::swiglu_up;
}

BlockGraph llama_block_graph(const BlockDims& d) {
  BlockGraph g;
  g.architecture = Architecture::llama;
  const int64_t D = d.hidden, I = d.intermediate, KV = d.kv_dim();
  g.linears = {{"self_attn.q_proj", {D, D}},  {"self_attn.k_proj", {D, KV}}, {"self_attn.v_proj", {D, KV}},
               {"self_attn.o_proj", {D, D}},  {"mlp.gate_proj", {D, I}},     {"mlp.up_proj", {D, I}},
               {"mlp.down_proj", {I, D}}};
  g.norms = {"input_layernorm", "post_attention_layernorm"};
  // Pre-norm: a norm's output goes to its fcs only; the residual carries the norm's *input*.
  g.consumers["input_layernorm"] = {{"self_attn.q_proj", Flow::direct},
                                    {"self_attn.k_proj", Flow::direct},
                                    {"self_attn.v_proj", Flow::direct}};
  g.consumers["post_attention_layernorm"] = {{"mlp.gate_proj", Flow::direct}, {"mlp.up_proj", Flow::direct}};
  g.consumers["self_attn.q_proj"] = {};  // through RoPE and softmax: no fc reads q linearly
  g.consumers["self_attn.k_proj"] = {};
  g.consumers["self_attn.v_proj"] = {{"self_attn.o_proj", Flow::attention_value}};
  g.consumers["self_attn.o_proj"] = {{"residual", Flow::residual_stream}};
  g.consumers["mlp.gate_proj"] = {{"mlp.down_proj", Flow::swiglu_gate}};
  g.consumers["mlp.up_proj"] = {{"mlp.down_proj", Flow::swiglu_up}};
  g.consumers["mlp.down_proj"] = {{"residual", Flow::residual_stream}};
  return g;
}

BlockGraph bert_block_graph(const BlockDims& d) {
  BlockGraph g;
  g.architecture = Architecture::bert;
  const int64_t D = d.hidden, I = d.intermediate;
  g.linears = {{"attention.self.query", {D, D}},   {"attention.self.key", {D, D}},
               {"attention.self.value", {D, D}},   {"attention.output.dense", {D, D}},
               {"intermediate.dense", {D, I}},     {"output.dense", {I, D}},
               {"next.attention.self.query", {D, D}}, {"next.attention.self.key", {D, D}},
               {"next.attention.self.value", {D, D}}};
  g.norms = {"attention.output.LayerNorm", "output.LayerNorm"};
  // Post-LN: h = LN(x + sublayer(x)); h is both the next sublayer's input and its residual.
  g.consumers["attention.self.value"] = {{"attention.output.dense", Flow::attention_value}};
  g.consumers["attention.output.dense"] = {{"attention.output.LayerNorm", Flow::residual_stream}};
  g.consumers["attention.output.LayerNorm"] = {{"intermediate.dense", Flow::direct},
                                               {"output.LayerNorm", Flow::residual_stream}};
  g.consumers["intermediate.dense"] = {{"output.dense", Flow::gelu}};
  g.consumers["output.dense"] = {{"output.LayerNorm", Flow::residual_stream}};
  g.consumers["output.LayerNorm"] = {{"next.attention.self.query", Flow::direct},
                                     {"next.attention.self.key", Flow::direct},
                                     {"next.attention.self.value", Flow::direct},
                                     {"next.attention.output.LayerNorm", Flow::residual_stream}};
  return g;
}

SmoothingPlan llama_smoothing_plan(const BlockDims& d, SmoothMode mode) {
  SmoothingPlan p;
  p.architecture = Architecture::llama;
  p.mode = mode;
  p.groups.push_back({"input_layernorm", SourceKind::norm, {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}});
  p.groups.push_back({"post_attention_layernorm", SourceKind::norm, {"mlp.gate_proj", "mlp.up_proj"}});
  // lmdeploy smooth_fc_fcs cannot divide v's kv_dim rows by a hidden-sized s: it skips the pair.
  // Migration divides o_proj's own input at run time, so there the pair is always present.
  if (mode == SmoothMode::migration || d.kv_dim() >= d.hidden)
    p.groups.push_back({"self_attn.v_proj", SourceKind::linear, {"self_attn.o_proj"}});
  p.groups.push_back({"mlp.up_proj", SourceKind::linear, {"mlp.down_proj"}});
  return p;
}

SmoothingPlan without_fc_to_fc_groups(SmoothingPlan plan) {
  std::vector<SmoothingGroup> kept;
  for (SmoothingGroup& g : plan.groups)
    if (g.kind == SourceKind::norm) kept.push_back(std::move(g));
  plan.groups = std::move(kept);
  return plan;
}

SmoothingPlan bert_fused_smoothing_plan(const BlockDims& d) { return bert_smoothing_plan(d, SmoothMode::fused); }

SmoothingPlan bert_smoothing_plan(const BlockDims&, SmoothMode mode) {
  SmoothingPlan p;
  p.architecture = Architecture::bert;
  p.mode = mode;
  p.groups.push_back({"attention.output.LayerNorm", SourceKind::norm, {"intermediate.dense"}});
  p.groups.push_back({"output.LayerNorm", SourceKind::norm,
                      {"next.attention.self.query", "next.attention.self.key", "next.attention.self.value"}});
  p.groups.push_back({"attention.self.value", SourceKind::linear, {"attention.output.dense"}});
  p.groups.push_back({"intermediate.dense", SourceKind::linear, {"output.dense"}});
  return p;
}

namespace {

std::string group_name(const SmoothingGroup& g) {
  std::string s = g.source + " -> {";
  for (std::size_t i = 0; i < g.fcs.size(); ++i) s += (i ? ", " : "") + g.fcs[i];
  return s + "}";
}

const Consumer* find_consumer(const std::vector<Consumer>& cs, const std::string& module) {
  for (const Consumer& c : cs)
    if (c.module == module) return &c;
  return nullptr;
}

bool listed(const SmoothingGroup& g, const std::string& module) {
  return std::find(g.fcs.begin(), g.fcs.end(), module) != g.fcs.end();
}

// Every reason the group is not exact under the plan's mode; empty when it is.
std::vector<std::string> group_problems(const BlockGraph& graph, const SmoothingGroup& g, SmoothMode mode) {
  std::vector<std::string> out;
  const bool source_is_norm = std::find(graph.norms.begin(), graph.norms.end(), g.source) != graph.norms.end();
  const auto consumers_it = graph.consumers.find(g.source);
  if (consumers_it == graph.consumers.end()) return {"unknown source module " + g.source};
  if ((g.kind == SourceKind::norm) != source_is_norm)
    out.push_back(g.source + (source_is_norm ? " is a norm, not a linear" : " is not a norm of this architecture"));
  if (g.fcs.empty()) out.push_back("no fcs listed");

  int64_t in_features = -1;
  for (const std::string& fc : g.fcs) {
    const auto shape = graph.linears.find(fc);
    if (shape == graph.linears.end()) {
      out.push_back(fc + " is not a linear of this architecture");
      continue;
    }
    if (in_features >= 0 && shape->second.in_features != in_features)
      out.push_back(fc + " has in_features " + std::to_string(shape->second.in_features) + " but the group's s has " +
                    std::to_string(in_features) + " channels");
    in_features = shape->second.in_features;
    const Consumer* c = find_consumer(consumers_it->second, fc);
    if (!c) {
      out.push_back(fc + " does not read " + g.source + "'s output");
      continue;
    }
    // Migration divides the fc's own input at run time: exact whatever lies between source and fc.
    if (mode == SmoothMode::fused && !is_linear(c->flow))
      out.push_back("fused smoothing across " + std::string(to_string(c->flow)) + " from " + g.source + " to " + fc +
                    " is not exact: dividing " + g.source + "'s output by s does not divide " + fc + "'s input by s");
  }
  if (mode == SmoothMode::migration) return out;

  // Fused: the source's output is divided by s, so every reader of it must undo that.
  for (const Consumer& c : consumers_it->second)
    if (!listed(g, c.module))
      out.push_back("fused smoothing of " + g.source + " is invalid: its output also feeds " + c.module + " via " +
                    to_string(c.flow) + ", which would see x / s");
  if (g.kind == SourceKind::linear && in_features >= 0) {
    const auto source_shape = graph.linears.find(g.source);
    if (source_shape != graph.linears.end() && source_shape->second.out_features != in_features)
      out.push_back(g.source + " has out_features " + std::to_string(source_shape->second.out_features) + " but " +
                    g.fcs.front() + " has in_features " + std::to_string(in_features) +
                    " (grouped-query attention): its rows cannot be divided by the fcs' s (lmdeploy skips this pair)");
  }
  return out;
}

}  // namespace

std::string PlanValidation::message() const {
  std::ostringstream os;
  for (const PlanProblem& p : problems) os << p.group << ": " << p.reason << "\n";
  return os.str();
}

PlanValidation validate_smoothing_plan(const BlockGraph& graph, const SmoothingPlan& plan) {
  PlanValidation v;
  if (graph.architecture != plan.architecture)
    v.problems.push_back({"(plan)", std::string("plan for ") + to_string(plan.architecture) + " applied to a " +
                                        to_string(graph.architecture) + " block"});
  for (const SmoothingGroup& g : plan.groups)
    for (std::string& reason : group_problems(graph, g, plan.mode)) v.problems.push_back({group_name(g), std::move(reason)});
  return v;
}

}  // namespace smoothcheck
