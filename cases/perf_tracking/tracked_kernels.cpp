#include "cases/perf_tracking/tracked_kernels.h"

#include <cstdint>
#include <cstring>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/numerics.h"

namespace smoothcheck::perf_tracking {
namespace {

using kernels::ConstMatrix;
using kernels::ConstVector;
using kernels::MutMatrix;
using kernels::MutVector;

// Shapes: small enough for callgrind (~50x slower than native) to get through every kernel in seconds,
// with widths that are not multiples of 8 or 32 so that the vector tails and the GEMM's edge panels are
// part of what is counted.
constexpr int64_t kTokens = 32, kChannels = 1030;  // activations [T, C]
constexpr int64_t kOut = 64;                       // weights [O, C]
constexpr int64_t kM = 40, kN = 136, kK = 515;     // GEMM: 6x16 tiles with edges, odd K

// xorshift64*: the same sequence on every machine and libc (std::normal_distribution is not).
class Sequence {
 public:
  explicit Sequence(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * float(next() >> 40) / float(1 << 24); }

 private:
  uint64_t state_;
};

// An activation-like matrix: uniform in [-2, 2) with every 97th channel 60x larger (SmoothQuant's
// outlier channels), as float and as bf16 bits.
void fill_activations(uint64_t seed, int64_t rows, int64_t cols, std::vector<float>* f32, std::vector<uint16_t>* bf16) {
  Sequence seq(seed);
  f32->resize(std::size_t(rows * cols));
  bf16->resize(f32->size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float v = seq.uniform(-2.0f, 2.0f) * (c % 97 == 5 ? 60.0f : 1.0f);
      (*f32)[std::size_t(r * cols + c)] = v;
      (*bf16)[std::size_t(r * cols + c)] = numerics::float_to_bf16(v);
    }
}

std::vector<float> positive(uint64_t seed, int64_t count) {
  Sequence seq(seed);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = seq.uniform(0.25f, 4.0f);
  return v;
}

std::vector<int8_t> codes(uint64_t seed, int64_t count) {
  Sequence seq(seed);
  std::vector<int8_t> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = int8_t(int(seq.next() >> 56) - 128);
  return v;
}

}  // namespace

struct TrackedKernelSet::Buffers {
  std::vector<float> x_f32, w_f32, norm_f32, s, s_out, act_stat, w_stat, stats, scales, sa, sb, out_f32;
  std::vector<uint16_t> x_bf16, w_bf16, norm_bf16, bias_bf16, out_bf16;
  std::vector<int8_t> q, qa, qb;
  std::vector<int32_t> acc;
};

TrackedKernelSet::TrackedKernelSet()
    : backend_(kernels::make_cpu_backend(kernels::CpuBackendOptions{kernels::CpuIsa::avx2, 1})),
      buffers_(std::make_unique<Buffers>()) {
  Buffers& b = *buffers_;
  fill_activations(1, kTokens, kChannels, &b.x_f32, &b.x_bf16);
  fill_activations(2, kOut, kChannels, &b.w_f32, &b.w_bf16);
  std::vector<float> unused;
  fill_activations(3, 1, kChannels, &b.norm_f32, &b.norm_bf16);
  fill_activations(4, 1, kN, &unused, &b.bias_bf16);
  b.s = positive(5, kChannels);
  b.act_stat = positive(6, kChannels);
  b.w_stat = positive(7, kChannels);
  b.sa = positive(8, kM);
  b.sb = positive(9, kN);
  b.qa = codes(10, kM * kK);
  b.qb = codes(11, kN * kK);
  b.s_out.resize(std::size_t(kChannels));
  b.stats.resize(std::size_t(5 * kChannels));
  b.scales.resize(std::size_t(kOut > kTokens ? kOut : kTokens));
  b.q.resize(std::size_t(kOut * kChannels));
  b.acc.resize(std::size_t(kM * kN));
  b.out_f32.resize(std::size_t(kM * kN));
  b.out_bf16.resize(std::size_t(kM * kN));

  kernels::Backend& k = *backend_;
  auto x = [&b](DType t) {
    return ConstMatrix{t == DType::f32 ? static_cast<const void*>(b.x_f32.data()) : b.x_bf16.data(), t, kTokens,
                       kChannels, kChannels};
  };
  auto w = [&b](DType t) {  // in place for the smoothing kernels: each runs once, so drift does not matter
    return MutMatrix{t == DType::f32 ? static_cast<void*>(b.w_f32.data()) : b.w_bf16.data(), t, kOut, kChannels,
                     kChannels};
  };
  auto norm = [&b](DType t) {
    return ConstVector{t == DType::f32 ? static_cast<const void*>(b.norm_f32.data()) : b.norm_bf16.data(), t,
                       kChannels};
  };
  const MutMatrix q_act{b.q.data(), DType::i8, kTokens, kChannels, kChannels};
  const MutMatrix q_w{b.q.data(), DType::i8, kOut, kChannels, kChannels};
  constexpr ActQuantOptions lmdeploy_triton = lmdeploy_triton_act_quant();

  const std::string act_shape = "t" + std::to_string(kTokens) + "_c" + std::to_string(kChannels);
  const std::string w_shape = "o" + std::to_string(kOut) + "_c" + std::to_string(kChannels);
  const std::string gemm_shape = "m" + std::to_string(kM) + "_n" + std::to_string(kN) + "_k" + std::to_string(kK);
  auto add = [this](std::string name, std::function<void()> run) { kernels_.push_back({std::move(name), std::move(run)}); };

  for (DType t : {DType::f32, DType::bf16}) {
    const std::string d = to_string(t);
    add("channel_stats/" + d + "/" + act_shape, [&k, &b, x, t] {
      float* o = b.stats.data();
      k.channel_stats(x(t), kernels::ChannelStatsOut{o, o + kChannels, o + 2 * kChannels, o + 3 * kChannels,
                                                     o + 4 * kChannels});
    });
    add("quantize_per_token/" + d + "/" + act_shape,
        [&k, &b, x, t, q_act] { k.quantize_per_token(x(t), nullptr, ActQuantOptions{}, q_act, b.scales.data()); });
    add("quantize_per_token_migration/" + d + "/" + act_shape,
        [&k, &b, x, t, q_act] { k.quantize_per_token(x(t), b.s.data(), ActQuantOptions{}, q_act, b.scales.data()); });
    add("quantize_per_token_lmdeploy_options/" + d + "/" + act_shape, [&k, &b, x, t, q_act, lmdeploy_triton] {
      k.quantize_per_token(x(t), nullptr, lmdeploy_triton, q_act, b.scales.data());
    });
    add("quantize_per_tensor/" + d + "/" + act_shape,
        [&k, x, t, q_act] { k.quantize_per_tensor(x(t), nullptr, 0.05f, ActQuantOptions{}, q_act); });
    add("rmsnorm_quantize/" + d + "/" + act_shape, [&k, &b, x, norm, t, q_act] {
      k.rmsnorm_quantize(x(t), norm(t), 1e-5f, ActQuantOptions{}, q_act, b.scales.data());
    });
    for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy})
      add("weight_stat/" + d + "/" + to_string(r) + "/" + w_shape, [&k, &b, w, t, r] {
        const ConstMatrix fc = w(t).as_const();
        k.weight_stat(&fc, 1, r, 0, b.s_out.data());
      });
    for (WeightQuant v : {WeightQuant::lmdeploy, WeightQuant::smoothquant, WeightQuant::compressed_tensors})
      add("quantize_weight/" + d + "/" + to_string(v) + "/" + w_shape,
          [&k, &b, w, t, v, q_w] { k.quantize_weight(w(t).as_const(), v, q_w, b.scales.data()); });
    add("scale_columns/" + d + "/" + w_shape, [&k, &b, w, t] { k.scale_columns(w(t), b.s.data()); });
    add("divide_rows/" + d + "/" + w_shape, [&k, &b, w, t] { k.divide_rows(w(t), b.s.data()); });
    add("divide_vector/" + d + "/c" + std::to_string(kChannels), [&k, &b, t] {
      void* v = t == DType::f32 ? static_cast<void*>(b.norm_f32.data()) : b.norm_bf16.data();
      k.divide_vector(MutVector{v, t, kChannels}, b.s.data());
    });
  }
  for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor})
    add(std::string("smooth_scale/") + to_string(r) + "/c" + std::to_string(kChannels), [&k, &b, r] {
      k.smooth_scale(b.act_stat.data(), b.w_stat.data(), r == Recipe::lmdeploy ? b.norm_f32.data() : nullptr,
                     kChannels, r, 0.5f, b.s_out.data());
    });

  const ConstMatrix qa{b.qa.data(), DType::i8, kM, kK, kK}, qb{b.qb.data(), DType::i8, kN, kK, kK};
  add("gemm_s8s8s32/" + gemm_shape,
      [&k, &b, qa, qb] { k.gemm_s8s8s32(qa, qb, MutMatrix{b.acc.data(), DType::i32, kM, kN, kN}); });
  add("gemm_w8a8/f32/vllm/" + gemm_shape, [&k, &b, qa, qb] {
    k.gemm_w8a8(qa, qb, b.sa.data(), b.sb.data(), ConstVector{nullptr, DType::f32, 0}, Epilogue::vllm,
                MutMatrix{b.out_f32.data(), DType::f32, kM, kN, kN});
  });
  add("gemm_w8a8/bf16/lmdeploy_bias/" + gemm_shape, [&k, &b, qa, qb] {
    k.gemm_w8a8(qa, qb, b.sa.data(), b.sb.data(), ConstVector{b.bias_bf16.data(), DType::bf16, kN},
                Epilogue::lmdeploy, MutMatrix{b.out_bf16.data(), DType::bf16, kM, kN, kN});
  });
}

TrackedKernelSet::~TrackedKernelSet() = default;

}  // namespace smoothcheck::perf_tracking
