// The kernel benchmarks both suites register (cpu_kernel_benchmarks, cuda_kernel_benchmarks), written
// once: each row's name, its shape set (llama_shapes.h), its inputs and the bytes or operations one call
// moves, and the kernel it times through a KernelBenchTarget. A suite adds its backend's suffix to a
// row's name (the CPU its ISA), its own ceilings and any rows of its backend alone.
#pragma once

#include <benchmark/benchmark.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "cases/bench/kernel_bench_target.h"
#include "kernels/options.h"

namespace smoothcheck::bench {

enum class ShapeSet {
  activations,  // [tokens, hidden]: every kTokens x kHidden
  weights,      // [out_features, in_features] of the LLaMA-2-7B linears
  channels      // per-channel vectors of both hidden widths
};

struct KernelBenchmark {
  std::string name;  // "quantize_per_token_migration/bf16", "smooth_scale/lmdeploy": no backend suffix
  ShapeSet shapes;
  // The CPU suite also times these on its portable scalar path (the per-batch kernels and the weight
  // quantiser); the rest, run once per checkpoint, on its best ISA only.
  bool every_isa;
  std::function<void(KernelBenchTarget&, benchmark::State&)> run;
};

// The rows of one activation dtype (f32 or bf16), in registration order.
std::vector<KernelBenchmark> kernel_benchmarks(DType activation);
// smooth_scale per recipe: f32 statistics, no activation dtype.
std::vector<KernelBenchmark> smooth_scale_benchmarks();

// The GEMM rows of every shape: out i32 is gemm_s8s8s32, the rest gemm_w8a8.
struct GemmVariant {
  const char* kernel;   // "gemm_s8s8s32" or "gemm_w8a8"
  const char* options;  // "" or "<out dtype>/<epilogue>"; a suite puts its engine or ISA around it
  DType out;
  Epilogue epilogue;
  bool prepacked = false;  // b packed once outside the timed loop (Backend::pack_gemm_weight), then gemm_*_packed
};
inline constexpr std::array<GemmVariant, 4> kGemmVariants = {{{"gemm_s8s8s32", "", DType::i32, Epilogue::vllm},
                                                              {"gemm_w8a8", "f32/vllm", DType::f32, Epilogue::vllm},
                                                              {"gemm_w8a8", "bf16/vllm", DType::bf16, Epilogue::vllm},
                                                              {"gemm_w8a8", "bf16/lmdeploy", DType::bf16, Epilogue::lmdeploy}}};
// The prepacked-weight rows: the CPU suite's (the CUDA launchers have no packed weight layout).
inline constexpr std::array<GemmVariant, 2> kPrepackedGemmVariants = {
    {{"gemm_s8s8s32", "prepacked", DType::i32, Epilogue::vllm, true},
     {"gemm_w8a8", "f32/vllm/prepacked", DType::f32, Epilogue::vllm, true}}};
// Times one variant at the benchmark's arguments (M, N, K).
void run_gemm(KernelBenchTarget& target, benchmark::State& st, const GemmVariant& variant);

// Applies a shape set's arguments and their names to a registered benchmark.
void apply_shapes(benchmark::internal::Benchmark* b, ShapeSet shapes);

}  // namespace smoothcheck::bench
