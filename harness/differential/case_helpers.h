// Small pieces every case family uses: moving tensors between the kernel's layout and the reference's,
// and names that print every parameter. (Running the kernel is CaseTensors::run_kernel's.)
#pragma once

#include <string>
#include <vector>

#include "harness/differential/host_tensor.h"
#include "reference/reference.h"

namespace smoothcheck {

reference::Matrix to_reference(const HostTensor& t);
reference::Vector to_reference_vector(const HostTensor& t);  // all elements, row-major
HostTensor make_tensor(DType dtype, int64_t rows, int64_t cols, int64_t pad, const std::vector<double>& values);
HostTensor make_output(DType dtype, int64_t rows, int64_t cols, int64_t pad = 0);  // poisoned

// "t17_c1025" or "t17_c1025_pad3".
std::string shape_name(const char* rows_tag, int64_t rows, const char* cols_tag, int64_t cols, int64_t pad);
std::string seed_name(uint64_t seed);

// The activation-quantisation option sets of kernels/options.h, with the names cases carry.
struct NamedActOptions {
  std::string name;
  ActQuantOptions options;
};
NamedActOptions preset_vllm_dynamic();
NamedActOptions preset_trtllm();
NamedActOptions preset_lmdeploy_triton();
NamedActOptions preset_vllm_static();
// Every combination of rounding x math x clamp x zero-row rule (floor 1e-6), named by its parts.
std::vector<NamedActOptions> all_act_option_combinations();

}  // namespace smoothcheck
