// Every CPU kernel gives the same bytes for every thread count. The backend's worker pool hands out
// several fixed chunks per thread to whichever thread is free (kernels/cpu/parallel_for.cpp), so this
// checks that no kernel lets a result depend on the chunking or on which thread ran a chunk: rows,
// column strips (channel_stats) and GEMM tiles at shapes large enough to be split into many chunks,
// on both ISA paths, compared with the single-threaded run of the same path.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels {
namespace {

constexpr int64_t kRows = 700, kCols = 1030;            // row kernels: ~45 chunks of 64 KiB available
constexpr int64_t kStatRows = 40, kStatCols = 4099;     // channel_stats: ~10 column ranges
constexpr int64_t kM = 600, kN = 520, kK = 301;         // GEMM: 9 tiles of 256 x 256, odd K
constexpr int kThreadCounts[] = {2, 3, 5};

std::vector<uint8_t> random_floats(DType t, int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint8_t> bytes(std::size_t(count) * dtype_size(t));
  for (int64_t i = 0; i < count; ++i) {
    float v = normal(rng) * (i % 61 == 3 ? 50.0f : 1.0f);
    if (t == DType::bf16) {
      const uint16_t h = numerics::float_to_bf16(v);
      std::memcpy(&bytes[std::size_t(i) * 2], &h, 2);
    } else {
      std::memcpy(&bytes[std::size_t(i) * 4], &v, 4);
    }
  }
  return bytes;
}

std::vector<float> positive(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.25f, 4.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = u(rng);
  return v;
}

// One kernel call writing into `out` (resized and poisoned by the runner), on the given backend.
using KernelCall = std::function<void(Backend&, std::vector<uint8_t>& out)>;

struct Row {
  std::string name;
  std::size_t out_bytes;
  KernelCall call;
};

std::vector<Row> rows_for(DType t) {
  const std::string d = to_string(t);
  auto x = std::make_shared<std::vector<uint8_t>>(random_floats(t, kRows * kCols, 1));
  auto stat_x = std::make_shared<std::vector<uint8_t>>(random_floats(t, kStatRows * kStatCols, 2));
  auto norm = std::make_shared<std::vector<uint8_t>>(random_floats(t, kCols, 3));
  auto s = std::make_shared<std::vector<float>>(positive(kCols, 4));
  const std::size_t codes = std::size_t(kRows * kCols), scales = std::size_t(kRows) * 4;
  auto q = [](std::vector<uint8_t>& out) { return MutMatrix{out.data(), DType::i8, kRows, kCols, kCols}; };
  auto sc = [](std::vector<uint8_t>& out) { return reinterpret_cast<float*>(out.data() + kRows * kCols); };
  ActQuantOptions lmdeploy;
  lmdeploy.rounding = Rounding::half_away;
  lmdeploy.math = ScaleMath::divide;
  lmdeploy.clamp = Clamp::none;
  // Every lambda holds the shared inputs (x, s, norm, stat_x) so that they outlive this function.
  auto in = [x, t] { return ConstMatrix{x->data(), t, kRows, kCols, kCols}; };
  return {
      {"quantize_per_token/" + d, codes + scales,
       [=](Backend& b, std::vector<uint8_t>& o) { b.quantize_per_token(in(), nullptr, ActQuantOptions{}, q(o), sc(o)); }},
      {"quantize_per_token_migration_lmdeploy/" + d, codes + scales,
       [=](Backend& b, std::vector<uint8_t>& o) { b.quantize_per_token(in(), s->data(), lmdeploy, q(o), sc(o)); }},
      {"quantize_per_tensor/" + d, codes,
       [=](Backend& b, std::vector<uint8_t>& o) { b.quantize_per_tensor(in(), nullptr, 0.03f, ActQuantOptions{}, q(o)); }},
      {"rmsnorm_quantize/" + d, codes + scales,
       [=](Backend& b, std::vector<uint8_t>& o) {
         b.rmsnorm_quantize(in(), ConstVector{norm->data(), t, kCols}, 1e-5f, ActQuantOptions{}, q(o), sc(o));
       }},
      {"quantize_weight/" + d, codes + scales,
       [=](Backend& b, std::vector<uint8_t>& o) { b.quantize_weight(in(), WeightQuant::smoothquant, q(o), sc(o)); }},
      {"weight_stat/" + d, std::size_t(kCols) * 4,
       [=](Backend& b, std::vector<uint8_t>& o) {
         const ConstMatrix fc = in();
         b.weight_stat(&fc, 1, Recipe::lmdeploy, 0, reinterpret_cast<float*>(o.data()));
       }},
      {"channel_stats/" + d, std::size_t(5 * kStatCols) * 4,
       [=](Backend& b, std::vector<uint8_t>& o) {
         float* f = reinterpret_cast<float*>(o.data());
         b.channel_stats(ConstMatrix{stat_x->data(), t, kStatRows, kStatCols, kStatCols},
                         {f, f + kStatCols, f + 2 * kStatCols, f + 3 * kStatCols, f + 4 * kStatCols});
       }},
      {"scale_columns/" + d, x->size(),
       [=](Backend& b, std::vector<uint8_t>& o) {
         std::memcpy(o.data(), x->data(), x->size());
         b.scale_columns(MutMatrix{o.data(), t, kRows, kCols, kCols}, s->data());
       }},
  };
}

std::vector<Row> gemm_rows() {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> code(-128, 127);
  auto a = std::make_shared<std::vector<int8_t>>(std::size_t(kM * kK));
  auto w = std::make_shared<std::vector<int8_t>>(std::size_t(kN * kK));
  for (auto& v : *a) v = int8_t(code(rng));
  for (auto& v : *w) v = int8_t(code(rng));
  auto sa = std::make_shared<std::vector<float>>(positive(kM, 6));
  auto sb = std::make_shared<std::vector<float>>(positive(kN, 7));
  // The lambdas hold a and w (captured by the operand views' maker) so that they outlive this function.
  auto ab = [a, w] {
    return std::make_pair(ConstMatrix{a->data(), DType::i8, kM, kK, kK}, ConstMatrix{w->data(), DType::i8, kN, kK, kK});
  };
  return {
      {"gemm_s8s8s32", std::size_t(kM * kN) * 4,
       [=](Backend& b, std::vector<uint8_t>& o) { b.gemm_s8s8s32(ab().first, ab().second, MutMatrix{o.data(), DType::i32, kM, kN, kN}); }},
      {"gemm_w8a8/bf16/vllm", std::size_t(kM * kN) * 2,
       [=](Backend& b, std::vector<uint8_t>& o) {
         b.gemm_w8a8(ab().first, ab().second, sa->data(), sb->data(), ConstVector{}, Epilogue::vllm,
                     MutMatrix{o.data(), DType::bf16, kM, kN, kN});
       }},
      // The prepacked weight, packed by the backend under test (its thread count packs it too).
      {"gemm_s8s8s32/prepacked", std::size_t(kM * kN) * 4,
       [=](Backend& b, std::vector<uint8_t>& o) {
         b.gemm_s8s8s32_packed(ab().first, *b.pack_gemm_weight(ab().second), MutMatrix{o.data(), DType::i32, kM, kN, kN});
       }},
      {"gemm_w8a8/bf16/vllm/prepacked", std::size_t(kM * kN) * 2,
       [=](Backend& b, std::vector<uint8_t>& o) {
         b.gemm_w8a8_packed(ab().first, *b.pack_gemm_weight(ab().second), sa->data(), sb->data(), ConstVector{},
                            Epilogue::vllm, MutMatrix{o.data(), DType::bf16, kM, kN, kN});
       }},
  };
}

class ThreadCountAgreement : public ::testing::TestWithParam<CpuIsa> {};

TEST_P(ThreadCountAgreement, EveryKernelGivesTheSameBytesForEveryThreadCount) {
  const CpuIsa isa = GetParam();
  if (isa == CpuIsa::avx2 && !cpu_supports_avx2()) GTEST_SKIP() << "this CPU lacks AVX2/FMA/F16C";
  std::vector<Row> rows = gemm_rows();
  for (DType t : {DType::f32, DType::bf16})
    for (Row& r : rows_for(t)) rows.push_back(std::move(r));
  auto single = make_cpu_backend({isa, 1});
  for (const Row& row : rows) {
    std::vector<uint8_t> expected(row.out_bytes, 0xA5);
    row.call(*single, expected);
    for (int threads : kThreadCounts) {
      auto multi = make_cpu_backend({isa, threads});
      std::vector<uint8_t> got(row.out_bytes, 0x5A);  // a different poison: unwritten bytes differ
      row.call(*multi, got);
      EXPECT_TRUE(got == expected) << row.name << ": " << threads << " threads differ from 1 thread";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, ThreadCountAgreement, ::testing::Values(CpuIsa::scalar, CpuIsa::avx2),
                         [](const auto& info) { return info.param == CpuIsa::scalar ? "scalar" : "avx2"; });

}  // namespace
}  // namespace smoothcheck::kernels
