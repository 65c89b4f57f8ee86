// The CPU backend's threaded paths under ThreadSanitizer (the tsan preset; also an ordinary test in
// every other build). Every kernel runs on shapes that parallel_for splits into several chunks, with
// 4 threads and with 1: TSan reports any data race between the chunks (halt_on_error), and the outputs
// must be bit-identical, which a race or a chunk-boundary bug would also break.
//
// TsanCanFail.DISABLED_DeliberateRace is run only by the tsan build's ctest entry
// threaded_kernel_race_detected, which requires TSan's "data race" report: proof that the
// instrumentation is live, so a clean run of the kernels means something.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::kernels {
namespace {

// Inputs from a fixed LCG: values in [-4, 4) with a few outlier channels, as activations have.
std::vector<float> values(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = (static_cast<float>(x >> 8) / 16777216.0f - 0.5f) * 8.0f * (i % 97 == 0 ? 40.0f : 1.0f);
  }
  return v;
}

std::vector<std::int8_t> codes(std::size_t n, std::uint32_t seed) {
  std::vector<std::int8_t> v(n);
  std::uint32_t x = seed + 7;
  for (auto& c : v) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<std::int8_t>(static_cast<int>(x >> 24) - 128);
  }
  return v;
}

template <class T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<std::uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// 96 x 1024 float32 rows are 384 KiB: more than four 64 KiB grains (parallel_for.h), so 4 chunks.
constexpr std::int64_t T = 96, C = 1024, O = 96;
constexpr std::int64_t M = 64, N = 256, K = 512;

ConstMatrix view(const std::vector<float>& v, std::int64_t rows, std::int64_t cols) {
  return {v.data(), DType::f32, rows, cols, cols};
}
ConstMatrix view(const std::vector<std::int8_t>& v, std::int64_t rows, std::int64_t cols) {
  return {v.data(), DType::i8, rows, cols, cols};
}

struct KernelRun {
  std::string name;
  std::function<std::vector<std::uint8_t>(Backend&)> run;  // returns every output byte
};

std::vector<KernelRun> make_kernel_runs() {
  const auto x = values(T * C, 1), w = values(O * C, 2), s = values(C, 3), norm = values(C, 4);
  std::vector<float> positive_s(s.size()), absmax(C);
  for (std::size_t j = 0; j < s.size(); ++j) positive_s[j] = 0.5f + std::abs(s[j]);
  for (std::int64_t j = 0; j < C; ++j) absmax[j] = 1.0f + std::abs(x[j]);
  const auto a8 = codes(M * K, 5), b8 = codes(N * K, 6);
  const auto sa = values(M, 7), sb = values(N, 8);
  const ActQuantOptions act;
  return {
      {"channel_stats",
       [=](Backend& be) {
         std::vector<float> out(5 * C);
         be.channel_stats(view(x, T, C), {&out[0], &out[C], &out[2 * C], &out[3 * C], &out[4 * C]});
         return bytes_of(out);
       }},
      {"weight_stat",
       [=](Backend& be) {
         std::vector<float> out(C);
         const ConstMatrix fcs[] = {view(w, O, C), view(x, T, C)};
         be.weight_stat(fcs, 2, Recipe::lmdeploy, 0, out.data());
         return bytes_of(out);
       }},
      {"smooth_scale",
       [=](Backend& be) {
         std::vector<float> out(C);
         be.smooth_scale(absmax.data(), positive_s.data(), norm.data(), C, Recipe::smoothquant, 0.5f, out.data());
         return bytes_of(out);
       }},
      {"scale_columns_and_divide_rows",
       [=](Backend& be) {
         std::vector<float> a = w;
         be.scale_columns({a.data(), DType::f32, O, C, C}, positive_s.data());
         std::vector<float> rows = values(C * 128, 9);
         be.divide_rows({rows.data(), DType::f32, C, 128, 128}, positive_s.data());
         a.insert(a.end(), rows.begin(), rows.end());
         return bytes_of(a);
       }},
      {"quantize_weight",
       [=](Backend& be) {
         std::vector<std::int8_t> q(O * C);
         std::vector<float> scale(O);
         be.quantize_weight(view(w, O, C), WeightQuant::lmdeploy, {q.data(), DType::i8, O, C, C}, scale.data());
         auto out = bytes_of(q), sc = bytes_of(scale);
         out.insert(out.end(), sc.begin(), sc.end());
         return out;
       }},
      {"quantize_per_token",
       [=](Backend& be) {
         std::vector<std::int8_t> q(T * C);
         std::vector<float> scale(T);
         be.quantize_per_token(view(x, T, C), positive_s.data(), act, {q.data(), DType::i8, T, C, C}, scale.data());
         auto out = bytes_of(q), sc = bytes_of(scale);
         out.insert(out.end(), sc.begin(), sc.end());
         return out;
       }},
      {"quantize_per_tensor",
       [=](Backend& be) {
         std::vector<std::int8_t> q(T * C);
         be.quantize_per_tensor(view(x, T, C), nullptr, 0.05f, act, {q.data(), DType::i8, T, C, C});
         return bytes_of(q);
       }},
      {"rmsnorm_quantize",
       [=](Backend& be) {
         std::vector<std::int8_t> q(T * C);
         std::vector<float> scale(T);
         be.rmsnorm_quantize(view(x, T, C), {norm.data(), DType::f32, C}, 1e-5f, act, {q.data(), DType::i8, T, C, C},
                             scale.data());
         auto out = bytes_of(q), sc = bytes_of(scale);
         out.insert(out.end(), sc.begin(), sc.end());
         return out;
       }},
      {"gemm_s8s8s32",
       [=](Backend& be) {
         std::vector<std::int32_t> acc(M * N);
         be.gemm_s8s8s32(view(a8, M, K), view(b8, N, K), {acc.data(), DType::i32, M, N, N});
         return bytes_of(acc);
       }},
      {"gemm_w8a8",
       [=](Backend& be) {
         std::vector<float> out(M * N);
         be.gemm_w8a8(view(a8, M, K), view(b8, N, K), sa.data(), sb.data(), {}, Epilogue::vllm,
                      {out.data(), DType::f32, M, N, N});
         return bytes_of(out);
       }},
  };
}

// Built once: test discovery lists the names, and inputs are large enough to matter under TSan.
const std::vector<KernelRun>& kernel_runs() {
  static const std::vector<KernelRun> runs = make_kernel_runs();
  return runs;
}

struct IsaKernel {
  CpuIsa isa;
  std::size_t kernel;
};

std::string name_of(const IsaKernel& p) {
  return std::string(p.isa == CpuIsa::scalar ? "scalar_" : "avx2_") + kernel_runs()[p.kernel].name;
}
void PrintTo(const IsaKernel& p, std::ostream* os) { *os << name_of(p); }

class ThreadedKernel : public ::testing::TestWithParam<IsaKernel> {};

TEST_P(ThreadedKernel, FourThreadsRaceFreeAndEqualToOne) {
  const IsaKernel p = GetParam();
  if (p.isa == CpuIsa::avx2 && !cpu_supports_avx2()) GTEST_SKIP() << "this CPU has no AVX2/FMA/F16C";
  const KernelRun& k = kernel_runs()[p.kernel];
  auto one = make_cpu_backend({p.isa, 1});
  auto four = make_cpu_backend({p.isa, 4});
  const auto expected = k.run(*one);
  const auto threaded = k.run(*four);
  ASSERT_EQ(threaded.size(), expected.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) differing += expected[i] != threaded[i];
  EXPECT_EQ(differing, 0u) << k.name << ": " << differing << " output bytes differ between 4 threads and 1";
}

std::vector<IsaKernel> all_runs() {
  std::vector<IsaKernel> v;
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2})
    for (std::size_t k = 0; k < kernel_runs().size(); ++k) v.push_back({isa, k});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Kernels, ThreadedKernel, ::testing::ValuesIn(all_runs()),
                         [](const ::testing::TestParamInfo<IsaKernel>& info) { return name_of(info.param); });

// Two chunks of parallel_for increment one plain int: a data race TSan must report. The caller's
// chunk waits first, so that the worker's write is in TSan's history when the caller's comes (TSan
// reliably reports a race whose second access finds the first unsynchronised; two writes whose
// threads barely overlap can be missed, which is why the kernels run on several chunks per thread).
TEST(TsanCanFail, DISABLED_DeliberateRace) {
  int shared = 0;
  cpu::parallel_for(2, 1, 2, [&](int64_t begin, int64_t end) {
    if (begin == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int64_t i = begin; i < end; ++i) shared += 1;
  });
  EXPECT_GE(shared, 1);
}

}  // namespace
}  // namespace smoothcheck::kernels
