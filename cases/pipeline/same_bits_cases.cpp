// verify's comparison of the tensors quantisation does not produce (export_checks.h: same_bits): bit for
// bit in shape and dtype. It tells −0 from +0 and a value's dtype from another's, which a comparison of
// values (at::equal, what verify used before) does not, and it passes a NaN copied unchanged, which
// at::equal fails. The form that compares two checkpoints' bytes in place, a piece at a time, is held
// to the same, and to a difference in its last piece.
#include <cmath>
#include <cstdint>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/pipeline/export_checks.h"

namespace smoothcheck::pipeline {
namespace {

TEST(SameBits, AnUnchangedCopyPasses) {
  const at::Tensor a = at::randn({5, 7}, at::kHalf);
  EXPECT_TRUE(same_bits(a, a.clone()));
  EXPECT_TRUE(same_bits(a.t(), a.t().contiguous()));  // a strided view against its contiguous copy
}

TEST(SameBits, OneChangedValueFails) {
  const at::Tensor a = at::randn({5, 7});
  at::Tensor b = a.clone();
  b[3][4] = std::nextafter(b[3][4].item<float>(), INFINITY);  // one ulp
  EXPECT_FALSE(same_bits(a, b));
}

TEST(SameBits, TellsNegativeZeroFromZeroWhereValuesDoNot) {
  const at::Tensor a = at::zeros({4});
  at::Tensor b = a.clone();
  b[2] = -0.0f;
  EXPECT_TRUE(at::equal(a, b)) << "the comparison of values this replaced";
  EXPECT_FALSE(same_bits(a, b));
}

TEST(SameBits, PassesANanCopiedUnchangedWhereValuesDoNot) {
  at::Tensor a = at::ones({4});
  a[1] = NAN;
  EXPECT_FALSE(at::equal(a, a.clone())) << "the comparison of values this replaced";
  EXPECT_TRUE(same_bits(a, a.clone()));
}

TEST(SameBits, AnotherShapeOrDtypeFails) {
  const at::Tensor a = at::randn({6, 4});
  EXPECT_FALSE(same_bits(a, a.reshape({4, 6})));                 // the same bytes in another shape
  EXPECT_FALSE(same_bits(a, a.view(at::kInt)));                  // the same bytes as another dtype
  EXPECT_FALSE(same_bits(a.to(at::kHalf), a.to(at::kBFloat16)));  // the same size per element
}

// Two files written with the tensors given, compared in place by name.
bool same_bits_in_place(const at::Tensor& a, const at::Tensor& b) {
  smoothcheck::testing::ScratchDir dir;
  checkpoint::write_safetensors(dir / "a.safetensors", {{"t", a}});
  checkpoint::write_safetensors(dir / "b.safetensors", {{"t", b}});
  const auto ca = checkpoint::open_checkpoint(dir / "a.safetensors");
  const auto cb = checkpoint::open_checkpoint(dir / "b.safetensors");
  const bool same = same_bits(*ca->mapped("t"), *cb->mapped("t"));
  EXPECT_EQ(same, same_bits(*ca->mapped("t"), *cb->mapped("t"))) << "its pages dropped, the bytes read the same again";
  return same;
}

TEST(SameBitsInPlace, ComparesEveryPieceOfALargeTensor) {
  // 3.5 MiB of f16: four pieces of at most 1 MiB, the last one short.
  const at::Tensor a = at::randn({1792, 1024}, at::kHalf);
  EXPECT_TRUE(same_bits_in_place(a, a.clone()));
  for (const int64_t at : {int64_t(0), int64_t(700000), a.numel() - 1}) {  // the first, a middle and the last piece
    at::Tensor b = a.clone();
    auto* bits = static_cast<uint16_t*>(b.data_ptr());
    bits[at] ^= 1;  // one ulp
    EXPECT_FALSE(same_bits_in_place(a, b)) << "element " << at;
  }
}

TEST(SameBitsInPlace, TellsZerosApartAndRefusesAnotherShapeOrDtype) {
  const at::Tensor a = at::zeros({4});
  at::Tensor b = a.clone();
  b[2] = -0.0f;
  EXPECT_FALSE(same_bits_in_place(a, b));
  at::Tensor n = at::ones({4});
  n[1] = NAN;
  EXPECT_TRUE(same_bits_in_place(n, n.clone()));
  const at::Tensor c = at::randn({6, 4});
  EXPECT_FALSE(same_bits_in_place(c, c.reshape({4, 6})));
  EXPECT_FALSE(same_bits_in_place(c.to(at::kHalf), c.to(at::kBFloat16)));
}

}  // namespace
}  // namespace smoothcheck::pipeline
