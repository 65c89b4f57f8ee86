// Every rapidcheck generator of the property suite, in one place (design.md, "Properties"): shapes,
// tensors drawn from every Distribution of harness/differential/generators.h, storage dtypes, recipes, α,
// quantisation options and layer configurations, each with a showValue so that a shrunk
// counterexample prints as parameters a reader can paste into a case table.
//
// Tensors are generated as a *spec* (shape, distribution, seed, dtype) rather than as raw values: the
// harness generator reaches the edges (outlier channels, ties, saturation, zero rows) far more often
// than uniformly random floats would, and rapidcheck still shrinks the shape and the distribution.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include <rapidcheck.h>

#include "harness/differential/generators.h"
#include "harness/models/smoothing_plan.h"
#include "harness/models/quantized_layout.h"
#include "kernels/options.h"

namespace smoothcheck {

// ---- printing: found by argument-dependent lookup from rc::show ---------------------------------
inline void showValue(DType v, std::ostream& os) { os << to_string(v); }
inline void showValue(Distribution v, std::ostream& os) { os << to_string(v); }
inline void showValue(Recipe v, std::ostream& os) { os << to_string(v); }
inline void showValue(WeightQuant v, std::ostream& os) { os << to_string(v); }
inline void showValue(Rounding v, std::ostream& os) { os << to_string(v); }
inline void showValue(Clamp v, std::ostream& os) { os << to_string(v); }
inline void showValue(Epilogue v, std::ostream& os) { os << to_string(v); }
inline void showValue(SmoothMode v, std::ostream& os) { os << to_string(v); }
inline void showValue(const ActQuantOptions& o, std::ostream& os) {
  os << "{" << to_string(o.rounding) << ", " << to_string(o.math) << ", " << to_string(o.clamp) << ", "
     << to_string(o.zero_row);
  if (o.zero_row == ZeroRow::floor) os << " " << o.absmax_floor;
  os << "}";
}

// A tensor as the harness generator draws it; values() is deterministic.
struct TensorSpec {
  int64_t rows = 1;
  int64_t cols = 1;
  Distribution distribution = Distribution::normal;
  uint64_t seed = 0;
  DType dtype = DType::f32;
  std::vector<double> values() const { return generate_matrix(rows, cols, distribution, seed, dtype); }
};
inline void showValue(const TensorSpec& t, std::ostream& os) {
  os << "[" << t.rows << ", " << t.cols << "] " << to_string(t.distribution) << " seed " << t.seed << " "
     << to_string(t.dtype);
}

// Positive per-channel scales from generate_positive_scales (log-uniform in [2^-4, 2^4]).
struct PositiveScales {
  uint64_t seed = 0;
  bool powers_of_two = false;
  std::vector<double> values(int64_t size) const { return generate_positive_scales(size, seed, powers_of_two); }
};
inline void showValue(const PositiveScales& s, std::ostream& os) {
  os << "scales seed " << s.seed << (s.powers_of_two ? " (powers of two)" : "");
}

inline void showValue(const BlockDims& d, std::ostream& os) {
  os << "{hidden " << d.hidden << ", intermediate " << d.intermediate << ", heads " << d.heads << ", kv_heads "
     << d.kv_heads << "}";
}
inline void showValue(const QuantizedLayoutConfig& c, std::ostream& os) {
  os << "{hidden " << c.hidden_size << ", intermediate " << c.intermediate_size << ", layers " << c.num_hidden_layers
     << ", heads " << c.num_attention_heads << ", kv_heads " << c.num_key_value_heads << ", vocab " << c.vocab_size
     << ", attention_bias " << c.attention_bias << ", mlp_bias " << c.mlp_bias << ", tied " << c.tie_word_embeddings
     << ", " << to_string(c.dtype) << "}";
}

namespace property_gen {

// Sizes up to `max`, shrinking towards 1; a third of the draws land on the vector-width edges
// (1, 7, 8, 9, 15, 16, 17) where tails and single-vector paths are.
inline rc::Gen<int64_t> extent(int64_t max) {
  std::vector<int64_t> edges;
  for (int64_t e : {1, 7, 8, 9, 15, 16, 17, 31, 33})
    if (e <= max) edges.push_back(e);
  return rc::gen::weightedOneOf<int64_t>({{2, rc::gen::inRange<int64_t>(1, max + 1)}, {1, rc::gen::elementOf(edges)}});
}

// A GEMM's N or K up to `max`: half the draws are multiples of 4, the alignment cuBLASLt's int8 GEMM
// needs (the cuda-cublaslt backend refuses other shapes and the property discards them,
// property_support.h) and that real layers have; the other half as extent(), odd tails included.
inline rc::Gen<int64_t> gemm_extent(int64_t max) {
  if (max < 4) return extent(max);
  return rc::gen::weightedOneOf<int64_t>(
      {{1, extent(max)}, {1, rc::gen::map(extent(max / 4), [](int64_t e) { return 4 * e; })}});
}

inline rc::Gen<DType> float_dtype(bool include_f64) {
  return include_f64 ? rc::gen::element(DType::f64, DType::f32, DType::f16, DType::bf16)
                     : rc::gen::element(DType::f32, DType::f16, DType::bf16);
}

inline rc::Gen<TensorSpec> tensor(rc::Gen<int64_t> rows, rc::Gen<int64_t> cols, DType dtype) {
  return rc::gen::build<TensorSpec>(
      rc::gen::set(&TensorSpec::rows, std::move(rows)), rc::gen::set(&TensorSpec::cols, std::move(cols)),
      rc::gen::set(&TensorSpec::distribution, rc::gen::elementOf(all_distributions())),
      rc::gen::set(&TensorSpec::seed, rc::gen::arbitrary<uint64_t>()), rc::gen::set(&TensorSpec::dtype, rc::gen::just(dtype)));
}
// Same shape given exactly.
inline rc::Gen<TensorSpec> tensor_of_shape(int64_t rows, int64_t cols, DType dtype) {
  return tensor(rc::gen::just(rows), rc::gen::just(cols), dtype);
}

inline rc::Gen<PositiveScales> positive_scales() {
  return rc::gen::build<PositiveScales>(rc::gen::set(&PositiveScales::seed, rc::gen::arbitrary<uint64_t>()),
                                        rc::gen::set(&PositiveScales::powers_of_two, rc::gen::arbitrary<bool>()));
}

// α in hundredths, with the recipes' defaults (0.5, 0.85) and the ends (0, 1) drawn often.
inline rc::Gen<float> alpha() {
  return rc::gen::weightedOneOf<float>(
      {{1, rc::gen::element(0.0f, 0.5f, 0.85f, 1.0f)},
       {2, rc::gen::map(rc::gen::inRange(0, 101), [](int k) { return float(k) / 100.0f; })}});
}

// A power of two 2^e, e in [-4, 4]: multiplying by it is exact away from overflow and subnormals.
inline rc::Gen<int> power_of_two_exponent() { return rc::gen::inRange(-4, 5); }

// LLaMA block sizes small enough for a float64 forward pass per case; GQA when kv_heads < heads.
inline rc::Gen<BlockDims> block_dims() {
  return rc::gen::mapcat(rc::gen::inRange<int64_t>(1, 5), [](int64_t heads) {
    std::vector<int64_t> divisors;
    for (int64_t k = 1; k <= heads; ++k)
      if (heads % k == 0) divisors.push_back(k);
    return rc::gen::apply(
        [heads](int64_t head_dim_half, int64_t intermediate, int64_t kv_heads) {
          BlockDims d;
          d.heads = heads;
          d.hidden = 2 * head_dim_half * heads;  // even head_dim for rotate_half RoPE
          d.intermediate = intermediate;
          d.kv_heads = kv_heads;
          return d;
        },
        rc::gen::inRange<int64_t>(1, 5), rc::gen::inRange<int64_t>(1, 40), rc::gen::elementOf(divisors));
  });
}

// Layout configurations spanning tiny to LLaMA-70B-sized (the layout is arithmetic only).
inline rc::Gen<QuantizedLayoutConfig> layout_config() {
  return rc::gen::mapcat(rc::gen::inRange<int64_t>(1, 65), [](int64_t heads) {
    std::vector<int64_t> divisors;
    for (int64_t k = 1; k <= heads; ++k)
      if (heads % k == 0) divisors.push_back(k);
    return rc::gen::apply(
        [heads](int64_t head_dim, int64_t intermediate, int64_t layers, int64_t kv_heads, int64_t vocab,
                bool attention_bias, bool mlp_bias, bool tied, DType dtype) {
          QuantizedLayoutConfig c;
          c.hidden_size = head_dim * heads;
          c.intermediate_size = intermediate;
          c.num_hidden_layers = layers;
          c.num_attention_heads = heads;
          c.num_key_value_heads = kv_heads;
          c.vocab_size = vocab;
          c.attention_bias = attention_bias;
          c.mlp_bias = mlp_bias;
          c.tie_word_embeddings = tied;
          c.dtype = dtype;
          return c;
        },
        rc::gen::inRange<int64_t>(1, 257), rc::gen::inRange<int64_t>(1, 30000), rc::gen::inRange<int64_t>(1, 81),
        rc::gen::elementOf(divisors), rc::gen::inRange<int64_t>(1, 160000), rc::gen::arbitrary<bool>(),
        rc::gen::arbitrary<bool>(), rc::gen::arbitrary<bool>(), rc::gen::element(DType::f16, DType::bf16, DType::f32));
  });
}

}  // namespace property_gen
}  // namespace smoothcheck

// ---- rc::Arbitrary: what a property parameter of these types is drawn from -------------------------
namespace rc {

template <>
struct Arbitrary<smoothcheck::Distribution> {
  static Gen<smoothcheck::Distribution> arbitrary() { return gen::elementOf(smoothcheck::all_distributions()); }
};
template <>
struct Arbitrary<smoothcheck::Recipe> {
  static Gen<smoothcheck::Recipe> arbitrary() {
    using smoothcheck::Recipe;
    return gen::element(Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor);
  }
};
template <>
struct Arbitrary<smoothcheck::WeightQuant> {
  static Gen<smoothcheck::WeightQuant> arbitrary() {
    using smoothcheck::WeightQuant;
    return gen::element(WeightQuant::lmdeploy, WeightQuant::smoothquant, WeightQuant::compressed_tensors);
  }
};
template <>
struct Arbitrary<smoothcheck::Rounding> {
  static Gen<smoothcheck::Rounding> arbitrary() {
    return gen::element(smoothcheck::Rounding::half_even, smoothcheck::Rounding::half_away);
  }
};
template <>
struct Arbitrary<smoothcheck::Clamp> {
  static Gen<smoothcheck::Clamp> arbitrary() { return gen::element(smoothcheck::Clamp::saturate, smoothcheck::Clamp::none); }
};
template <>
struct Arbitrary<smoothcheck::Epilogue> {
  static Gen<smoothcheck::Epilogue> arbitrary() {
    return gen::element(smoothcheck::Epilogue::vllm, smoothcheck::Epilogue::lmdeploy);
  }
};
template <>
struct Arbitrary<smoothcheck::SmoothMode> {
  static Gen<smoothcheck::SmoothMode> arbitrary() {
    return gen::element(smoothcheck::SmoothMode::fused, smoothcheck::SmoothMode::migration);
  }
};
// Every combination of numerics.md §6's options; the floor (when used) is TensorRT-LLM's 1e-6 or
// lmdeploy Triton's 1e-7.
template <>
struct Arbitrary<smoothcheck::ActQuantOptions> {
  static Gen<smoothcheck::ActQuantOptions> arbitrary() {
    using namespace smoothcheck;
    return gen::build<ActQuantOptions>(
        gen::set(&ActQuantOptions::rounding, gen::arbitrary<Rounding>()),
        gen::set(&ActQuantOptions::math, gen::element(ScaleMath::divide, ScaleMath::reciprocal_multiply)),
        gen::set(&ActQuantOptions::clamp, gen::arbitrary<Clamp>()),
        gen::set(&ActQuantOptions::zero_row, gen::element(ZeroRow::zero_scale, ZeroRow::floor)),
        gen::set(&ActQuantOptions::absmax_floor, gen::element(1e-6f, 1e-7f)));
  }
};
template <>
struct Arbitrary<smoothcheck::PositiveScales> {
  static Gen<smoothcheck::PositiveScales> arbitrary() { return smoothcheck::property_gen::positive_scales(); }
};
template <>
struct Arbitrary<smoothcheck::BlockDims> {
  static Gen<smoothcheck::BlockDims> arbitrary() { return smoothcheck::property_gen::block_dims(); }
};
template <>
struct Arbitrary<smoothcheck::QuantizedLayoutConfig> {
  static Gen<smoothcheck::QuantizedLayoutConfig> arbitrary() { return smoothcheck::property_gen::layout_config(); }
};

}  // namespace rc
