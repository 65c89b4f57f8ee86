#include "cases/property/decoder_blocks.h"

#include <cmath>
#include <vector>

#include "harness/differential/generators.h"

namespace smoothcheck::property {
namespace {

template <class A>
using Rows = std::vector<std::vector<A>>;

template <class A>
Rows<A> rows_of(const Matrix& m) {
  Rows<A> r(std::size_t(m.rows), std::vector<A>(std::size_t(m.cols)));
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) r[std::size_t(i)][std::size_t(j)] = A(m.at(i, j));
  return r;
}

template <class A>
Matrix matrix_from(const Rows<A>& r) {
  Matrix m(int64_t(r.size()), r.empty() ? 0 : int64_t(r[0].size()));
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) m.at(i, j) = double(r[std::size_t(i)][std::size_t(j)]);
  return m;
}

// y = (x / divisor) · Wᵀ in the arithmetic A; W is [out, in].
template <class A>
Rows<A> linear(const Rows<A>& x, const Matrix& w, const Vector* divisor, double* magnitude = nullptr) {
  Rows<A> y(x.size(), std::vector<A>(std::size_t(w.rows), A(0)));
  for (std::size_t t = 0; t < x.size(); ++t)
    for (int64_t n = 0; n < w.rows; ++n) {
      A acc = 0;
      double mag = 0;
      for (int64_t k = 0; k < w.cols; ++k) {
        A xk = x[t][std::size_t(k)];
        if (divisor) xk = xk / A((*divisor)[std::size_t(k)]);
        acc += xk * A(w.at(n, k));
        mag += std::fabs(double(xk) * w.at(n, k));
      }
      y[t][std::size_t(n)] = acc;
      if (magnitude) *magnitude = std::fmax(*magnitude, mag);
    }
  return y;
}

template <class A>
const Vector* divisor_for(const RuntimeDivisors& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? nullptr : &it->second;
}

// transformers' LlamaRMSNorm: x · rsqrt(mean(x²) + eps) · weight.
template <class A>
Rows<A> rms_norm(const Rows<A>& x, const Vector& weight, A eps) {
  Rows<A> y = x;
  for (auto& row : y) {
    A ms = 0;
    for (A v : row) ms += v * v;
    const A r = A(1) / std::sqrt(ms / A(row.size()) + eps);
    for (std::size_t j = 0; j < row.size(); ++j) row[j] = row[j] * r * A(weight[j]);
  }
  return y;
}

template <class A>
Rows<A> layer_norm(const Rows<A>& x, const Vector& weight, const Vector& bias, A eps) {
  Rows<A> y = x;
  for (auto& row : y) {
    A mean = 0, var = 0;
    for (A v : row) mean += v;
    mean /= A(row.size());
    for (A v : row) var += (v - mean) * (v - mean);
    var /= A(row.size());
    const A r = A(1) / std::sqrt(var + eps);
    for (std::size_t j = 0; j < row.size(); ++j) row[j] = (row[j] - mean) * r * A(weight[j]) + A(bias[j]);
  }
  return y;
}

// rotate_half RoPE on every head of x [T, heads · head_dim].
template <class A>
void apply_rope(Rows<A>& x, int64_t heads, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  for (std::size_t t = 0; t < x.size(); ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const A angle = A(t) / std::pow(A(10000), A(2 * i) / A(head_dim));
        A& a = x[t][std::size_t(h * head_dim + i)];
        A& b = x[t][std::size_t(h * head_dim + i + half)];
        const A ra = a * std::cos(angle) - b * std::sin(angle), rb = b * std::cos(angle) + a * std::sin(angle);
        a = ra;
        b = rb;
      }
}

// Causal softmax(q kᵀ / sqrt(hd)) v; query head h reads kv head h / (heads / kv_heads).
template <class A>
Rows<A> attention(const Rows<A>& q, const Rows<A>& k, const Rows<A>& v, int64_t heads, int64_t kv_heads, int64_t hd,
                  bool causal) {
  const std::size_t T = q.size();
  Rows<A> out(T, std::vector<A>(std::size_t(heads * hd), A(0)));
  const A scale = A(1) / std::sqrt(A(hd));
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / (heads / kv_heads);
    for (std::size_t i = 0; i < T; ++i) {
      const std::size_t last = causal ? i : T - 1;
      std::vector<A> p(last + 1);
      A top = -INFINITY;
      for (std::size_t j = 0; j <= last; ++j) {
        A dot = 0;
        for (int64_t c = 0; c < hd; ++c) dot += q[i][std::size_t(h * hd + c)] * k[j][std::size_t(g * hd + c)];
        p[j] = dot * scale;
        top = std::fmax(top, p[j]);
      }
      A sum = 0;
      for (A& e : p) sum += (e = std::exp(e - top));
      for (std::size_t j = 0; j <= last; ++j)
        for (int64_t c = 0; c < hd; ++c) out[i][std::size_t(h * hd + c)] += p[j] / sum * v[j][std::size_t(g * hd + c)];
    }
  }
  return out;
}

template <class A>
void add_into(Rows<A>& x, const Rows<A>& y) {
  for (std::size_t t = 0; t < x.size(); ++t)
    for (std::size_t j = 0; j < x[t].size(); ++j) x[t][j] += y[t][j];
}

Matrix random_linear(int64_t out, int64_t in, uint64_t seed) {
  Matrix m(out, in);
  m.values = generate_matrix(out, in, Distribution::normal, seed, DType::f64);
  for (double& v : m.values) v /= std::sqrt(double(in));
  return m;
}

Vector random_norm(int64_t size, uint64_t seed) {
  Vector v = generate_matrix(1, size, Distribution::uniform, seed, DType::f64);
  for (double& x : v) x = 1.0 + 0.5 * x;
  return v;
}

}  // namespace

BlockWeights random_llama_weights(const BlockDims& d, uint64_t seed) {
  BlockWeights w;
  for (const auto& [name, shape] : llama_block_graph(d).linears)
    w.linears[name] = random_linear(shape.out_features, shape.in_features, derive_seed(seed, name));
  for (const char* n : {"input_layernorm", "post_attention_layernorm"}) w.norm_weights[n] = random_norm(d.hidden, derive_seed(seed, n));
  return w;
}

BlockWeights random_bert_weights(const BlockDims& d, uint64_t seed) {
  BlockWeights w;
  for (const auto& [name, shape] : bert_block_graph(d).linears)
    w.linears[name] = random_linear(shape.out_features, shape.in_features, derive_seed(seed, name));
  for (const char* n : {"attention.output.LayerNorm", "output.LayerNorm"}) {
    w.norm_weights[n] = random_norm(d.hidden, derive_seed(seed, n));
    Vector b = generate_matrix(1, d.hidden, Distribution::uniform, derive_seed(seed, std::string(n) + ".bias"), DType::f64);
    for (double& x : b) x *= 0.1;
    w.norm_biases[n] = b;
  }
  return w;
}

BlockWeights rounded_to_f32(BlockWeights w) {
  for (auto& [name, m] : w.linears)
    for (double& v : m.values) v = double(float(v));
  for (auto* vectors : {&w.norm_weights, &w.norm_biases})
    for (auto& [name, v] : *vectors)
      for (double& x : v) x = double(float(x));
  return w;
}

template <class A>
Matrix llama_layer_forward(const BlockDims& d, const BlockWeights& w, const Matrix& x_in, const RuntimeDivisors& mig,
                           LinearMagnitudes* magnitudes) {
  const int64_t hd = d.hidden / d.heads;
  const A eps = A(1e-6);
  Rows<A> x = rows_of<A>(x_in);
  const auto lin = [&](const Rows<A>& in, const char* name) {
    return linear<A>(in, w.linears.at(name), divisor_for<A>(mig, name), magnitudes ? &(*magnitudes)[name] : nullptr);
  };

  const Rows<A> h = rms_norm<A>(x, w.norm_weights.at("input_layernorm"), eps);
  Rows<A> q = lin(h, "self_attn.q_proj"), k = lin(h, "self_attn.k_proj");
  const Rows<A> v = lin(h, "self_attn.v_proj");
  apply_rope<A>(q, d.heads, hd);
  apply_rope<A>(k, d.kv_heads, hd);
  add_into<A>(x, lin(attention<A>(q, k, v, d.heads, d.kv_heads, hd, true), "self_attn.o_proj"));

  const Rows<A> h2 = rms_norm<A>(x, w.norm_weights.at("post_attention_layernorm"), eps);
  const Rows<A> gate = lin(h2, "mlp.gate_proj");
  Rows<A> act = lin(h2, "mlp.up_proj");
  for (std::size_t t = 0; t < act.size(); ++t)
    for (std::size_t j = 0; j < act[t].size(); ++j) act[t][j] *= gate[t][j] / (A(1) + std::exp(-gate[t][j]));  // silu(gate)·up
  add_into<A>(x, lin(act, "mlp.down_proj"));
  return matrix_from<A>(x);
}

template <class A>
Matrix bert_block_forward(const BlockDims& d, const BlockWeights& w, const Matrix& x_in) {
  const int64_t hd = d.hidden / d.heads;
  const A eps = A(1e-12);
  Rows<A> x = rows_of<A>(x_in);
  const auto lin = [&](const Rows<A>& in, const char* name) { return linear<A>(in, w.linears.at(name), nullptr); };
  const Rows<A> q = lin(x, "attention.self.query"), k = lin(x, "attention.self.key"), v = lin(x, "attention.self.value");
  add_into<A>(x, lin(attention<A>(q, k, v, d.heads, d.heads, hd, false), "attention.output.dense"));
  Rows<A> h1 = layer_norm<A>(x, w.norm_weights.at("attention.output.LayerNorm"), w.norm_biases.at("attention.output.LayerNorm"), eps);
  Rows<A> inter = lin(h1, "intermediate.dense");
  for (auto& row : inter)
    for (A& e : row) e = A(0.5) * e * (A(1) + std::erf(e / std::sqrt(A(2))));  // exact GELU
  add_into<A>(h1, lin(inter, "output.dense"));
  return matrix_from<A>(layer_norm<A>(h1, w.norm_weights.at("output.LayerNorm"), w.norm_biases.at("output.LayerNorm"), eps));
}

template Matrix llama_layer_forward<double>(const BlockDims&, const BlockWeights&, const Matrix&, const RuntimeDivisors&,
                                           LinearMagnitudes*);
template Matrix llama_layer_forward<float>(const BlockDims&, const BlockWeights&, const Matrix&, const RuntimeDivisors&,
                                          LinearMagnitudes*);
template Matrix bert_block_forward<double>(const BlockDims&, const BlockWeights&, const Matrix&);
template Matrix bert_block_forward<float>(const BlockDims&, const BlockWeights&, const Matrix&);

}  // namespace smoothcheck::property
