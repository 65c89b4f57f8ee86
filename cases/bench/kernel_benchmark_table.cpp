#include "cases/bench/kernel_benchmark_table.h"

#include "cases/bench/benchmark_registration.h"

namespace smoothcheck::bench {
namespace {

using benchmark::State;
using kernels::ConstMatrix;
using kernels::ConstVector;
using kernels::MutMatrix;
using kernels::MutVector;

using Target = KernelBenchTarget;

double bytes_of(DType t) { return double(dtype_size(t)); }
float* float_output(Target& target, const char* role, int64_t count) {
  return static_cast<float*>(target.zeroed_output(role, DType::f32, count));
}

enum class PerTokenVariant { plain, migration, lmdeploy_options };

void quantize_per_token(Target& target, State& st, DType dt, PerTokenVariant variant) {
  const int64_t t = st.range(0), c = st.range(1);
  const ConstMatrix x{target.bell_floats("x", dt, t, c, 11), dt, t, c, c};
  const float* migration = variant == PerTokenVariant::migration ? target.positive_floats("s", c, 12) : nullptr;
  const MutMatrix q{target.zeroed_output("q", DType::i8, t * c), DType::i8, t, c, c};
  float* scale = float_output(target, "scale", t);
  const ActQuantOptions o =
      variant == PerTokenVariant::lmdeploy_options ? lmdeploy_triton_act_quant() : vllm_dynamic_act_quant();
  target.time_bandwidth(st, target.quantize_per_token(x, migration, o, q, scale),
                        double(t * c) * (bytes_of(dt) + 1) + double(t) * 4 + (migration ? double(c) * 4 : 0.0));
}

void quantize_per_tensor(Target& target, State& st, DType dt) {
  const int64_t t = st.range(0), c = st.range(1);
  const ConstMatrix x{target.bell_floats("x", dt, t, c, 11), dt, t, c, c};
  const MutMatrix q{target.zeroed_output("q", DType::i8, t * c), DType::i8, t, c, c};
  target.time_bandwidth(st, target.quantize_per_tensor(x, 0.015f, vllm_static_act_quant(), q),
                        double(t * c) * (bytes_of(dt) + 1));
}

void rmsnorm_quantize(Target& target, State& st, DType dt) {
  const int64_t t = st.range(0), c = st.range(1);
  const ConstMatrix x{target.bell_floats("x", dt, t, c, 11), dt, t, c, c};
  const ConstVector w = target.norm_weight(dt, c, 13);
  const MutMatrix q{target.zeroed_output("q", DType::i8, t * c), DType::i8, t, c, c};
  float* scale = float_output(target, "scale", t);
  target.time_bandwidth(st, target.rmsnorm_quantize(x, w, 1e-5f, vllm_dynamic_act_quant(), q, scale),
                        double(t * c) * (bytes_of(dt) + 1) + double(c) * bytes_of(w.dtype) + double(t) * 4);
}

void channel_stats(Target& target, State& st, DType dt) {
  const int64_t t = st.range(0), c = st.range(1);
  const ConstMatrix x{target.bell_floats("x", dt, t, c, 11), dt, t, c, c};
  float* o = float_output(target, "stats", 5 * c);
  target.time_bandwidth(st, target.channel_stats(x, kernels::ChannelStatsOut{o, o + c, o + 2 * c, o + 3 * c, o + 4 * c}),
                        double(t * c) * bytes_of(dt) + 5.0 * double(c) * 4);
}

// weight_stat over one fc [rows, cols] (the statistic of a group of fcs is the same pass over more rows).
void weight_stat(Target& target, State& st, DType dt, Recipe recipe) {
  const int64_t r = st.range(0), c = st.range(1);
  const ConstMatrix fc{target.bell_floats("w", dt, r, c, 21), dt, r, c, c};
  target.time_bandwidth(st, target.weight_stat(fc, recipe, float_output(target, "wstat", c)),
                        double(r * c) * bytes_of(dt) + double(c) * 4);
}

void quantize_weight(Target& target, State& st, DType dt, WeightQuant variant) {
  const int64_t r = st.range(0), c = st.range(1);
  const ConstMatrix w{target.bell_floats("w", dt, r, c, 21), dt, r, c, c};
  const MutMatrix q{target.zeroed_output("qw", DType::i8, r * c), DType::i8, r, c, c};
  target.time_bandwidth(st, target.quantize_weight(w, variant, q, float_output(target, "wscale", r)),
                        double(r * c) * (bytes_of(dt) + 1) + double(r) * 4);
}

// In place, alternating `forward` (s) and `inverse` (1/s): powers of two, so the buffer never drifts.
void time_in_place(Target& target, State& st, const Target::Call& forward, const Target::Call& inverse,
                   double bytes_per_call) {
  bool ahead = true;
  target.time_bandwidth(
      st,
      [&] {
        (ahead ? forward : inverse)();
        ahead = !ahead;
      },
      bytes_per_call);
}

enum class Smoothing { scale_columns, divide_rows };

void apply_smoothing(Target& target, State& st, DType dt, Smoothing which) {
  const int64_t r = st.range(0), c = st.range(1);
  const MutMatrix w{target.bell_floats("w_inplace", dt, r, c, 22), dt, r, c, c};
  const int64_t ns = which == Smoothing::scale_columns ? c : r;
  const float* s = target.power_of_two_pairs("s_pow2", ns, 23);
  const bool columns = which == Smoothing::scale_columns;
  time_in_place(target, st, columns ? target.scale_columns(w, s) : target.divide_rows(w, s),
                columns ? target.scale_columns(w, s + ns) : target.divide_rows(w, s + ns),
                2.0 * double(r * c) * bytes_of(dt) + double(ns) * 4);
}

void divide_vector(Target& target, State& st, DType dt) {
  const int64_t c = st.range(0);
  const MutVector v{target.bell_floats("v_inplace", dt, 1, c, 24), dt, c};
  const float* s = target.power_of_two_pairs("s_pow2_vec", c, 25);
  time_in_place(target, st, target.divide_vector(v, s), target.divide_vector(v, s + c),
                2.0 * double(c) * bytes_of(dt) + double(c) * 4);
}

void smooth_scale(Target& target, State& st, Recipe recipe) {
  const int64_t c = st.range(0);
  const float* a = target.positive_floats("act_stat", c, 31);
  const float* w = target.positive_floats("w_stat", c, 32);
  const float* norm = recipe == Recipe::lmdeploy ? target.positive_floats("norm_f32", c, 33) : nullptr;
  float* s = float_output(target, "smooth_s", c);
  target.time_bandwidth(st, target.smooth_scale(a, w, norm, c, recipe, 0.5f, s), double(c) * 4 * (norm ? 4 : 3));
}

}  // namespace

std::vector<KernelBenchmark> kernel_benchmarks(DType activation) {
  const DType dt = activation;
  const std::string d = to_string(dt);
  std::vector<KernelBenchmark> rows;
  auto add = [&](std::initializer_list<std::string> name, ShapeSet shapes, bool every_isa,
                 std::function<void(Target&, State&)> run) {
    rows.push_back(KernelBenchmark{join(name), shapes, every_isa, std::move(run)});
  };
  const struct {
    const char* name;
    PerTokenVariant variant;
  } per_token[] = {{"quantize_per_token", PerTokenVariant::plain},
                   {"quantize_per_token_migration", PerTokenVariant::migration},
                   {"quantize_per_token_lmdeploy_options", PerTokenVariant::lmdeploy_options}};
  for (const auto& p : per_token) {
    const PerTokenVariant v = p.variant;
    add({p.name, d}, ShapeSet::activations, true, [=](Target& t, State& st) { quantize_per_token(t, st, dt, v); });
  }
  add({"quantize_per_tensor", d}, ShapeSet::activations, true,
      [=](Target& t, State& st) { quantize_per_tensor(t, st, dt); });
  add({"rmsnorm_quantize", d}, ShapeSet::activations, true, [=](Target& t, State& st) { rmsnorm_quantize(t, st, dt); });
  add({"quantize_weight", d}, ShapeSet::weights, true,
      [=](Target& t, State& st) { quantize_weight(t, st, dt, WeightQuant::smoothquant); });
  add({"channel_stats", d}, ShapeSet::activations, true, [=](Target& t, State& st) { channel_stats(t, st, dt); });
  for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy})
    add({"weight_stat", d, to_string(r)}, ShapeSet::weights, false,
        [=](Target& t, State& st) { weight_stat(t, st, dt, r); });
  add({"scale_columns", d}, ShapeSet::weights, false,
      [=](Target& t, State& st) { apply_smoothing(t, st, dt, Smoothing::scale_columns); });
  add({"divide_rows", d}, ShapeSet::weights, false,
      [=](Target& t, State& st) { apply_smoothing(t, st, dt, Smoothing::divide_rows); });
  add({"divide_vector", d}, ShapeSet::channels, false, [=](Target& t, State& st) { divide_vector(t, st, dt); });
  return rows;
}

std::vector<KernelBenchmark> smooth_scale_benchmarks() {
  std::vector<KernelBenchmark> rows;
  for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor})
    rows.push_back(KernelBenchmark{join({"smooth_scale", to_string(r)}), ShapeSet::channels, false,
                                   [=](Target& t, State& st) { smooth_scale(t, st, r); }});
  return rows;
}

void run_gemm(KernelBenchTarget& target, State& st, const GemmVariant& variant) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  const float* scale_a = target.positive_floats("scale_a", m, 43);
  const float* scale_b = target.positive_floats("scale_b", n, 44);
  const MutMatrix out{target.zeroed_output("gemm_out", variant.out, m * n), variant.out, m, n, n};
  target.time_gemm(st, target.gemm(m, n, k, 41, 42, scale_a, scale_b, variant.epilogue, out, variant.prepacked), m, n,
                   k);
}

void apply_shapes(benchmark::internal::Benchmark* b, ShapeSet shapes) {
  switch (shapes) {
    case ShapeSet::activations: activation_args(b); break;
    case ShapeSet::weights: weight_args(b); break;
    case ShapeSet::channels: channel_args(b); break;
  }
}

}  // namespace smoothcheck::bench
