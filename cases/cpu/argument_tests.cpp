// The CPU backend refuses what it does not support with a KernelError that says why, and treats
// empty shapes as no-ops.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::kernels {
namespace {

// Runs fn and expects a KernelError whose message contains `needle`.
template <class Fn>
void expect_kernel_error(Fn&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no KernelError; expected one mentioning '" << needle << "'";
  } catch (const KernelError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(CpuArguments, RefusesBadViews) {
  auto backend = make_cpu_backend();
  std::vector<float> x(64, 1.0f), scale(8);
  std::vector<int8_t> q(64);
  const ActQuantOptions o;
  expect_kernel_error([&] { backend->quantize_per_token({x.data(), DType::f32, 4, 8, 7}, nullptr, o, {q.data(), DType::i8, 4, 8, 8}, scale.data()); },
                      "row_stride 7 < cols 8");
  expect_kernel_error([&] { backend->quantize_per_token({x.data(), DType::i32, 4, 8, 8}, nullptr, o, {q.data(), DType::i8, 4, 8, 8}, scale.data()); },
                      "dtype i32 is not supported");
  expect_kernel_error([&] { backend->quantize_per_token({nullptr, DType::f32, 4, 8, 8}, nullptr, o, {q.data(), DType::i8, 4, 8, 8}, scale.data()); },
                      "null data");
  expect_kernel_error([&] { backend->quantize_per_token({x.data(), DType::f32, 4, 8, 8}, nullptr, o, {q.data(), DType::i8, 4, 8, 8}, nullptr); },
                      "scale: null pointer");
  expect_kernel_error([&] { backend->quantize_per_token({x.data(), DType::f32, 4, 8, 8}, nullptr, o, {q.data(), DType::i8, 4, 7, 8}, scale.data()); },
                      "q is [4, 7]");
  expect_kernel_error([&] { backend->quantize_weight({x.data(), DType::f32, 4, 8, 8}, WeightQuant::lmdeploy, {x.data(), DType::f32, 4, 8, 8}, scale.data()); },
                      "q: dtype f32");
  const ConstMatrix fc{x.data(), DType::f32, 2, 9, 9};
  std::vector<float> w(9);
  expect_kernel_error([&] { backend->weight_stat(&fc, 1, Recipe::lmdeploy, 4, w.data()); }, "not a multiple of group_size");
  expect_kernel_error([&] { backend->weight_stat(&fc, 1, Recipe::smoothquant, 3, w.data()); }, "Recipe::lmdeploy only");
}

TEST(CpuArguments, RefusesGemmThatCouldOverflow) {
  auto backend = make_cpu_backend();
  std::vector<int8_t> a(131072), b(131072);
  std::vector<int32_t> acc(1);
  expect_kernel_error([&] { backend->gemm_s8s8s32({a.data(), DType::i8, 1, 131072, 131072}, {b.data(), DType::i8, 1, 131072, 131072}, {acc.data(), DType::i32, 1, 1, 1}); },
                      "131072");
  expect_kernel_error([&] { backend->gemm_s8s8s32({a.data(), DType::i8, 1, 8, 8}, {b.data(), DType::i8, 1, 9, 9}, {acc.data(), DType::i32, 1, 1, 1}); },
                      "both [*, K]");
  std::vector<uint16_t> out(1), bias(1);
  std::vector<float> s(1, 1.0f);
  expect_kernel_error([&] { backend->gemm_w8a8({a.data(), DType::i8, 1, 8, 8}, {b.data(), DType::i8, 1, 8, 8}, s.data(), s.data(), {bias.data(), DType::bf16, 1}, Epilogue::vllm, {out.data(), DType::f16, 1, 1, 1}); },
                      "bias dtype bf16 differs");
  expect_kernel_error([&] { backend->gemm_w8a8({a.data(), DType::i8, 1, 8, 8}, {b.data(), DType::i8, 1, 8, 8}, s.data(), s.data(), {}, Epilogue::vllm, {out.data(), DType::i8, 1, 1, 1}); },
                      "out: dtype i8");
}

TEST(CpuArguments, EmptyShapesAreNoOps) {
  auto backend = make_cpu_backend();
  const ActQuantOptions o;
  backend->quantize_per_token({nullptr, DType::f16, 0, 8, 8}, nullptr, o, {nullptr, DType::i8, 0, 8, 8}, nullptr);
  backend->channel_stats({nullptr, DType::f32, 5, 0, 0}, {});
  backend->gemm_s8s8s32({nullptr, DType::i8, 0, 8, 8}, {nullptr, DType::i8, 0, 8, 8}, {nullptr, DType::i32, 0, 0, 0});
  // K = 0: every accumulator is 0.
  std::vector<int32_t> acc(6, -1);
  backend->gemm_s8s8s32({nullptr, DType::i8, 2, 0, 0}, {nullptr, DType::i8, 3, 0, 0}, {acc.data(), DType::i32, 2, 3, 3});
  for (int32_t v : acc) EXPECT_EQ(v, 0);
}

TEST(CpuArguments, IsaSelection) {
  EXPECT_EQ(make_cpu_backend({CpuIsa::scalar, 1})->name(), "cpu-scalar");
  if (cpu_supports_avx2()) {
    EXPECT_EQ(make_cpu_backend({CpuIsa::avx2, 0})->name(), "cpu-avx2");
    EXPECT_EQ(make_cpu_backend()->name(), "cpu-avx2");
  } else {
    EXPECT_THROW(make_cpu_backend({CpuIsa::avx2, 0}), KernelError);
  }
  std::string why = "unset";
  EXPECT_TRUE(make_cpu_backend()->available(&why));
  EXPECT_TRUE(why.empty());
}

}  // namespace
}  // namespace smoothcheck::kernels
