#include "cases/bench/cpu_bench_target.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "cases/bench/torch_gemm_ceilings.h"
#include "cases/bench/vpmaddwd_ceiling.h"

namespace smoothcheck::bench {
namespace {

using kernels::ConstMatrix;
using kernels::ConstVector;
using kernels::MutMatrix;
using kernels::MutVector;

std::string key_of(const char* role, DType t, int64_t count) {
  return std::string(role) + "/" + to_string(t) + "/" + std::to_string(count);
}

// Calls moving at least this much per call stream from DRAM: their ceiling is re-measured right after
// their timed loop (cpu_copy_ceiling.h). Smaller calls use the start-up measurement.
constexpr double kDramBoundBytes = 16.0 * (1 << 20);
// ... and whose timed loop ran this long: the ctest smoke run (10 ms per row) skips the re-measurement.
constexpr double kMinSecondsForBeside = 0.1;
// The vpmaddwd ceiling re-measured before and after each GEMM row's timed loop (vpmaddwd_ceiling.h):
// long enough for ~10 pool passes, short beside the row itself.
constexpr double kVpmaddwdSecondsBeside = 0.1;

}  // namespace

HostBuffer& HostBufferCache::get(const std::string& key, std::size_t bytes, const std::function<HostBuffer()>& make) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (total_ + bytes > kBudget) evict_stale();
    it = entries_.emplace(key, Entry{make(), 0}).first;
    total_ += it->second.buffer.bytes();
  }
  it->second.generation = generation_;
  return it->second.buffer;
}

void HostBufferCache::evict_stale() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.generation != generation_) {
      total_ -= it->second.buffer.bytes();
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

namespace {

// A CPU backend's kernels on host buffers, timed by wall clock (UseRealTime).
class CpuBenchTarget final : public KernelBenchTarget {
 public:
  CpuBenchTarget(kernels::Backend& backend, HostBufferCache& cache, CopyCeiling& copy)
      : backend_(backend), cache_(cache), copy_(copy) {}

  void* bell_floats(const char* role, DType dtype, int64_t rows, int64_t cols, uint64_t seed) override {
    const std::size_t count = std::size_t(rows * cols);
    return cache_.get(key_of(role, dtype, rows * cols), count * dtype_size(dtype), [&] {
      return make_float_tensor(dtype, count, seed);
    }).data();
  }

  float* positive_floats(const char* role, int64_t count, uint64_t seed) override {
    return cache_.get(key_of(role, DType::f32, count), std::size_t(count) * 4, [&] {
      return make_positive_floats(std::size_t(count), seed);
    }).as<float>();
  }

  float* power_of_two_pairs(const char* role, int64_t count, uint64_t seed) override {
    const std::size_t n = std::size_t(count);
    return cache_.get(key_of(role, DType::f32, 2 * count), n * 8, [&] {
      HostBuffer s, inverse;
      make_power_of_two_pair(n, seed, &s, &inverse);
      HostBuffer both(n * 8);
      std::memcpy(both.as<float>(), s.data(), n * 4);
      std::memcpy(both.as<float>() + n, inverse.data(), n * 4);
      return both;
    }).as<float>();
  }

  void* zeroed_output(const char* role, DType dtype, int64_t count) override {
    const std::size_t bytes = std::size_t(count) * dtype_size(dtype);
    return cache_.get(key_of(role, dtype, count), bytes, [&] {
      HostBuffer b(bytes);
      std::memset(b.data(), 0, b.bytes());
      return b;
    }).data();
  }

  ConstVector norm_weight(DType activation, int64_t channels, uint64_t seed) override {
    return ConstVector{bell_floats("norm_w", activation, 1, channels, seed), activation, channels};
  }

  Call channel_stats(ConstMatrix x, kernels::ChannelStatsOut out) override {
    return [&b = backend_, x, out] { b.channel_stats(x, out); };
  }
  Call weight_stat(ConstMatrix fc, Recipe recipe, float* w) override {
    return [&b = backend_, fc, recipe, w] { b.weight_stat(&fc, 1, recipe, 0, w); };
  }
  Call smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                    float alpha, float* s) override {
    return [=, &b = backend_] { b.smooth_scale(a, w, norm_weight, channels, recipe, alpha, s); };
  }
  Call scale_columns(MutMatrix w, const float* s) override {
    return [&b = backend_, w, s] { b.scale_columns(w, s); };
  }
  Call divide_rows(MutMatrix w, const float* s) override {
    return [&b = backend_, w, s] { b.divide_rows(w, s); };
  }
  Call divide_vector(MutVector v, const float* s) override {
    return [&b = backend_, v, s] { b.divide_vector(v, s); };
  }
  Call quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    return [=, &b = backend_] { b.quantize_weight(w, variant, q, scale); };
  }
  Call quantize_per_token(ConstMatrix x, const float* migration_scale, const ActQuantOptions& o, MutMatrix q,
                          float* scale) override {
    return [=, &b = backend_] { b.quantize_per_token(x, migration_scale, o, q, scale); };
  }
  Call quantize_per_tensor(ConstMatrix x, float scale, const ActQuantOptions& o, MutMatrix q) override {
    return [=, &b = backend_] { b.quantize_per_tensor(x, nullptr, scale, o, q); };
  }
  Call rmsnorm_quantize(ConstMatrix x, ConstVector norm_w, float eps, const ActQuantOptions& o, MutMatrix q,
                        float* scale) override {
    return [=, &b = backend_] { b.rmsnorm_quantize(x, norm_w, eps, o, q, scale); };
  }

  Call gemm(int64_t m, int64_t n, int64_t k, uint64_t a_seed, uint64_t b_seed, const float* scale_a,
            const float* scale_b, Epilogue epilogue, MutMatrix out, bool prepacked) override {
    auto int8_input = [&](const char* role, int64_t count, uint64_t seed) {
      return cache_.get(key_of(role, DType::i8, count), std::size_t(count), [&] {
        return make_int8_tensor(std::size_t(count), seed);
      }).data();
    };
    const ConstMatrix a{int8_input("qa", m * k, a_seed), DType::i8, m, k, k};
    const ConstMatrix b{int8_input("qw_gemm", n * k, b_seed), DType::i8, n, k, k};
    if (prepacked) {
      // Packed here, outside the timed loop: a serving stack packs its static weights once.
      std::shared_ptr<const kernels::PackedGemmWeight> w = backend_.pack_gemm_weight(b);
      if (out.dtype == DType::i32) return [&be = backend_, a, w, out] { be.gemm_s8s8s32_packed(a, *w, out); };
      return [=, &be = backend_] {
        be.gemm_w8a8_packed(a, *w, scale_a, scale_b, ConstVector{nullptr, out.dtype, 0}, epilogue, out);
      };
    }
    if (out.dtype == DType::i32) return [&be = backend_, a, b, out] { be.gemm_s8s8s32(a, b, out); };
    return [=, &be = backend_] {
      be.gemm_w8a8(a, b, scale_a, scale_b, ConstVector{nullptr, out.dtype, 0}, epilogue, out);
    };
  }

  // Bytes read + written per call, and the fractions of the copy ceiling:
  //   frac_copy_bw: bytes per wall second over the ceiling measured beside this row when it is
  //     DRAM-bound (else the start-up one) -- the goal's figure;
  //   frac_copy_bw_startup: the same over the start-up ceiling;
  //   frac_copy_bw_cpu (DRAM-bound rows): bytes per second of process CPU time over the copy's bytes per
  //     CPU second beside it. On a machine whose cores are shared with other jobs the wall-time ratio
  //     mostly measures how much CPU each side got; per CPU second both sides are counted only while they
  //     run. Waiting is counted only as long as a pool thread spins before it sleeps (at most 200 us after
  //     each call, kernels/cpu/parallel_for.cpp); the copies never spin.
  void time_bandwidth(benchmark::State& st, const Call& call, double bytes_per_call) override {
    const WallClock clock;
    for (auto _ : st) {
      call();
      benchmark::ClobberMemory();
    }
    const double seconds = clock.seconds(), cpu_seconds = clock.cpu_seconds();
    const double total = bytes_per_call * double(st.iterations());
    st.SetBytesProcessed(int64_t(total));
    const double startup = copy_.startup().best();
    if (startup <= 0 || seconds <= 0) return;
    const double rate = total / seconds;
    st.counters["frac_copy_bw_startup"] = rate / startup;
    double ceiling = startup;
    if (bytes_per_call >= kDramBoundBytes && seconds >= kMinSecondsForBeside) {
      const CopyBeside beside = copy_.measure_beside();
      ceiling = beside.per_wall_second;
      st.counters["copy_bw_beside"] = ceiling;
      if (cpu_seconds > 0) st.counters["frac_copy_bw_cpu"] = total / cpu_seconds / beside.per_cpu_second;
    }
    st.counters["frac_copy_bw"] = rate / ceiling;
  }

  void time_gemm(benchmark::State& st, const Call& call, int64_t m, int64_t n, int64_t k) override {
    const double ceiling_before = measure_vpmaddwd_rate(MaddLoop::vpmaddwd, copy_.threads(), kVpmaddwdSecondsBeside);
    const WallClock clock;
    for (auto _ : st) {
      call();
      benchmark::ClobberMemory();
    }
    const double seconds = clock.seconds();
    report_gemm(st, seconds, m, n, k);
    // frac_vpmaddwd: the GEMM's operations per second over the exact path's instruction ceiling, measured
    // on the same threads right before and right after the timed loop (the load of the moment weighs on
    // both sides); the higher of the two, so that a burst of other work during one of them cannot make
    // the ratio look better than it is.
    const double ceiling = std::max(
        ceiling_before, measure_vpmaddwd_rate(MaddLoop::vpmaddwd, copy_.threads(), kVpmaddwdSecondsBeside));
    if (ceiling <= 0 || seconds <= 0) return;
    const double rate = 2.0 * double(m) * double(n) * double(k) * double(st.iterations()) / seconds;
    st.counters["frac_vpmaddwd"] = rate / ceiling;
    st.counters["vpmaddwd_gops_beside"] = ceiling / 1e9;
  }

 private:
  kernels::Backend& backend_;
  HostBufferCache& cache_;
  CopyCeiling& copy_;
};

}  // namespace

std::unique_ptr<KernelBenchTarget> make_cpu_bench_target(kernels::Backend& backend, HostBufferCache& cache,
                                                         CopyCeiling& copy) {
  return std::make_unique<CpuBenchTarget>(backend, cache, copy);
}

}  // namespace smoothcheck::bench
