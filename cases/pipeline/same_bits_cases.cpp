// verify's comparison of the tensors quantisation does not produce (export_checks.h: same_bits): bit for
// bit in shape and dtype. It tells −0 from +0 and a value's dtype from another's, which a comparison of
// values (at::equal, what verify used before) does not, and it passes a NaN copied unchanged, which
// at::equal fails.
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace smoothcheck::pipeline
