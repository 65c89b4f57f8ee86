// A real kernel benchmark and a deliberately slowed copy of the same kernel, for proving that
// `smoothcheck perf compare` flags a slower kernel. The production CPU backend's per-token
// quantisation (64 tokens x 4096 channels, f32, one thread, so that the two cores of a CI machine
// do not contend) runs under the name quantize_per_token/64x4096/f32; with --slowdown=K a
// SlowedBackend whose kernel does its work K times takes its place under the same name, as a slower
// build of the kernel would.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend_impl.h"

namespace {

using smoothcheck::ActQuantOptions;
using smoothcheck::kernels::ConstMatrix;
using smoothcheck::kernels::CpuBackend;
using smoothcheck::kernels::CpuBackendOptions;
using smoothcheck::kernels::MutMatrix;

class SlowedBackend final : public CpuBackend {
 public:
  SlowedBackend(const CpuBackendOptions& o, int repeats) : CpuBackend(o), repeats_(repeats) {}
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    for (int i = 0; i < repeats_; ++i) CpuBackend::quantize_per_token(x, s, o, q, scale);
  }

 private:
  int repeats_;
};

int g_slowdown = 1;

void quantize_per_token_benchmark(benchmark::State& state) {
  constexpr int64_t tokens = 64, channels = 4096;
  CpuBackendOptions options;
  options.threads = 1;
  std::unique_ptr<CpuBackend> backend = g_slowdown > 1 ? std::make_unique<SlowedBackend>(options, g_slowdown)
                                                        : std::make_unique<CpuBackend>(options);
  std::vector<float> x(tokens * channels), scale(tokens);
  std::vector<int8_t> q(tokens * channels);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  const ConstMatrix in{x.data(), smoothcheck::DType::f32, tokens, channels, channels};
  const MutMatrix out{q.data(), smoothcheck::DType::i8, tokens, channels, channels};
  for (auto _ : state) {
    backend->quantize_per_token(in, nullptr, ActQuantOptions{}, out, scale.data());
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * tokens * channels * int64_t(sizeof(float) + 1));
}
BENCHMARK(quantize_per_token_benchmark)->Name("quantize_per_token/64x4096/f32")->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // --slowdown=K is ours; the rest goes to Google Benchmark.
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--slowdown=", 11) == 0) g_slowdown = std::atoi(argv[i] + 11);
    else rest.push_back(argv[i]);
  }
  int rest_count = int(rest.size());
  benchmark::Initialize(&rest_count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_count, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
