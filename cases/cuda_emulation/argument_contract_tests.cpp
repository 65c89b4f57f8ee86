// One argument contract for every backend (kernels/argument_contract.h): the CPU backend and the CUDA
// backend's source (run here by its CPU emulation) refuse the same calls with the same message, each
// prefixed by its own name, and accept the same empty shapes as no-ops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda_emulation/emulated_backend.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {
namespace {

// What `call` throws on `backend`, "" when it throws nothing.
std::string refusal(Backend& backend, const std::function<void(Backend&)>& call) {
  try {
    call(backend);
  } catch (const KernelError& e) {
    return e.what();
  }
  return "";
}

struct BadCall {
  const char* what;  // the broken rule, and a word of the message
  std::function<void(Backend&)> call;
};

class ArgumentContract : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> cpu_ = make_cpu_backend({CpuIsa::scalar, 1});
  std::unique_ptr<Backend> cuda_ = make_cuda_backend_emulated({});
  std::vector<float> x_ = std::vector<float>(64, 1.0f), scale_ = std::vector<float>(8, 1.0f);
  std::vector<int8_t> q_ = std::vector<int8_t>(64);
  std::vector<int32_t> acc_ = std::vector<int32_t>(64);
};

TEST_F(ArgumentContract, EveryBackendRefusesTheSameCallsInTheSameWords) {
  const ActQuantOptions o;
  const ConstMatrix x{x_.data(), DType::f32, 4, 8, 8};
  const MutMatrix q{q_.data(), DType::i8, 4, 8, 8};
  const ConstMatrix a{q_.data(), DType::i8, 2, 8, 8};
  float* s = scale_.data();
  const std::vector<BadCall> calls = {
      {"row_stride", [&](Backend& b) { b.quantize_per_token({x_.data(), DType::f32, 4, 8, 7}, nullptr, o, q, s); }},
      {"dtype i32 is not supported", [&](Backend& b) { b.channel_stats({x_.data(), DType::i32, 4, 8, 8}, {}); }},
      {"null data", [&](Backend& b) { b.quantize_weight({nullptr, DType::f32, 4, 8, 8}, WeightQuant::lmdeploy, q, s); }},
      {"scale: null pointer", [&](Backend& b) { b.rmsnorm_quantize(x, {x_.data(), DType::f32, 8}, 1e-5f, o, q, nullptr); }},
      {"q is [4, 7]", [&](Backend& b) { b.quantize_per_tensor(x, nullptr, 0.5f, o, {q_.data(), DType::i8, 4, 7, 8}); }},
      {"scale is NaN", [&](Backend& b) { b.quantize_per_tensor(x, nullptr, NAN, o, q); }},
      {"absmax_floor", [&](Backend& b) { b.quantize_per_token(x, nullptr, {Rounding::half_even, ScaleMath::divide, Clamp::saturate, ZeroRow::floor, -1.0f}, q, s); }},
      {"eps", [&](Backend& b) { b.rmsnorm_quantize(x, {x_.data(), DType::f32, 8}, -1.0f, o, q, s); }},
      {"alpha", [&](Backend& b) { b.smooth_scale(s, s, nullptr, 8, Recipe::smoothquant, 1.5f, s); }},
      {"arithmetic: dtype i8", [&](Backend& b) { b.smooth_scale(s, s, nullptr, 8, Recipe::smoothquant, 0.5f, s, DType::i8); }},
      {"group_size", [&](Backend& b) { b.weight_stat(&x, 1, Recipe::lmdeploy, 3, s); }},
      {"Recipe::lmdeploy only", [&](Backend& b) { b.weight_stat(&x, 1, Recipe::smoothquant, 4, s); }},
      {"fcs[1] has 7 columns", [&](Backend& b) {
         const ConstMatrix fcs[2] = {x, {x_.data(), DType::f32, 4, 7, 8}};
         b.weight_stat(fcs, 2, Recipe::smoothquant, 0, s);
       }},
      {"v: negative size", [&](Backend& b) { b.divide_vector({x_.data(), DType::f32, -1}, s); }},
      {"both [*, K]", [&](Backend& b) { b.gemm_s8s8s32(a, {q_.data(), DType::i8, 2, 7, 7}, {acc_.data(), DType::i32, 2, 2, 2}); }},
      {"131072", [&](Backend& b) { b.gemm_s8s8s32({q_.data(), DType::i8, 1, 131072, 131072}, {q_.data(), DType::i8, 1, 131072, 131072}, {acc_.data(), DType::i32, 1, 1, 1}); }},
      {"acc is [2, 3]", [&](Backend& b) { b.gemm_s8s8s32(a, a, {acc_.data(), DType::i32, 2, 3, 3}); }},
      {"bias dtype bf16 differs", [&](Backend& b) { b.gemm_w8a8(a, a, s, s, {x_.data(), DType::bf16, 2}, Epilogue::vllm, {x_.data(), DType::f32, 2, 2, 2}); }},
  };
  for (const BadCall& c : calls) {
    const std::string on_cpu = refusal(*cpu_, c.call), on_cuda = refusal(*cuda_, c.call);
    ASSERT_EQ(on_cpu.rfind("cpu.", 0), 0u) << c.what << ": " << on_cpu;
    ASSERT_EQ(on_cuda.rfind("cuda.", 0), 0u) << c.what << ": " << on_cuda;
    EXPECT_NE(on_cpu.find(c.what), std::string::npos) << on_cpu;
    EXPECT_EQ(on_cpu.substr(4), on_cuda.substr(5));
  }
}

TEST_F(ArgumentContract, EmptyShapesAreNoOpsOnEveryBackend) {
  for (Backend* b : {cpu_.get(), cuda_.get()}) {
    const ConstMatrix no_rows{nullptr, DType::f32, 0, 8, 8};
    b->weight_stat(&no_rows, 1, Recipe::smoothquant, 0, scale_.data());  // a stack without rows writes nothing
    b->quantize_per_token(no_rows, nullptr, {}, {nullptr, DType::i8, 0, 8, 8}, nullptr);
    b->channel_stats({nullptr, DType::bf16, 5, 0, 0}, {});
    b->gemm_s8s8s32({nullptr, DType::i8, 0, 8, 8}, {nullptr, DType::i8, 0, 8, 8}, {nullptr, DType::i32, 0, 0, 0});
  }
  for (float v : scale_) EXPECT_EQ(v, 1.0f);
}

}  // namespace
}  // namespace smoothcheck::kernels
