#include "harness/differential/case_helpers.h"

namespace smoothcheck {

reference::Matrix to_reference(const HostTensor& t) {
  reference::Matrix m(t.rows(), t.cols());
  m.values = t.to_doubles();
  return m;
}

reference::Vector to_reference_vector(const HostTensor& t) { return t.to_doubles(); }

HostTensor make_tensor(DType dtype, int64_t rows, int64_t cols, int64_t pad, const std::vector<double>& values) {
  HostTensor t(dtype, rows, cols, cols + pad);
  t.from_doubles(values);
  return t;
}

HostTensor make_output(DType dtype, int64_t rows, int64_t cols, int64_t pad) {
  HostTensor t(dtype, rows, cols, cols + pad);
  t.poison();
  return t;
}

std::string shape_name(const char* rows_tag, int64_t rows, const char* cols_tag, int64_t cols, int64_t pad) {
  std::string s = std::string(rows_tag) + std::to_string(rows) + "_" + cols_tag + std::to_string(cols);
  if (pad) s += "_pad" + std::to_string(pad);
  return s;
}

std::string seed_name(uint64_t seed) { return "seed" + std::to_string(seed); }

NamedActOptions preset_vllm_dynamic() { return {"vllm", vllm_dynamic_act_quant()}; }
NamedActOptions preset_trtllm() { return {"trtllm", trtllm_act_quant()}; }
NamedActOptions preset_lmdeploy_triton() { return {"lmdeploy_triton", lmdeploy_triton_act_quant()}; }
NamedActOptions preset_vllm_static() { return {"vllm_static", vllm_static_act_quant()}; }

std::vector<NamedActOptions> all_act_option_combinations() {
  std::vector<NamedActOptions> out;
  for (Rounding rounding : {Rounding::half_even, Rounding::half_away})
    for (ScaleMath math : {ScaleMath::reciprocal_multiply, ScaleMath::divide})
      for (Clamp clamp : {Clamp::saturate, Clamp::none})
        for (ZeroRow zero_row : {ZeroRow::zero_scale, ZeroRow::floor}) {
          ActQuantOptions o{rounding, math, clamp, zero_row, zero_row == ZeroRow::floor ? 1e-6f : 0.0f};
          out.push_back({std::string(to_string(rounding)) + "-" + to_string(math) + "-" + to_string(clamp) + "-" +
                             to_string(zero_row),
                         o});
        }
  return out;
}

}  // namespace smoothcheck
