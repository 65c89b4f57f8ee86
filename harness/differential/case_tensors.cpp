#include "harness/differential/case_tensors.h"

#include <exception>
#include <utility>

#include "harness/differential/case_helpers.h"
#include "harness/differential/compare.h"

namespace smoothcheck {

HostTensor& CaseTensors::declare(Declared declared) {
  if (declared.role == Role::input) declared.checksum_before = declared.tensor.checksum();
  declared_.push_back(std::move(declared));
  return declared_.back().tensor;
}

HostTensor& CaseTensors::input_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, int64_t pad,
                                      const std::vector<double>& values) {
  return declare({std::move(name), Role::input, {rows, cols}, ZeroOutput::allowed,
                  make_tensor(dtype, rows, cols, pad, values)});
}

HostTensor& CaseTensors::input_vector(std::string name, DType dtype, const std::vector<double>& values) {
  const auto size = int64_t(values.size());
  return declare({std::move(name), Role::input, {size}, ZeroOutput::allowed, make_tensor(dtype, 1, size, 0, values)});
}

HostTensor& CaseTensors::output_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, int64_t pad,
                                       ZeroOutput zeros) {
  return declare({std::move(name), Role::output, {rows, cols}, zeros, make_output(dtype, rows, cols, pad)});
}

HostTensor& CaseTensors::output_vector(std::string name, DType dtype, int64_t size, ZeroOutput zeros) {
  return declare({std::move(name), Role::output, {size}, zeros, make_output(dtype, 1, size)});
}

HostTensor& CaseTensors::in_place_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, int64_t pad,
                                         const std::vector<double>& values, ZeroOutput zeros) {
  return declare({std::move(name), Role::in_place, {rows, cols}, zeros, make_tensor(dtype, rows, cols, pad, values)});
}

bool CaseTensors::run_kernel(const std::function<void()>& kernel) {
  try {
    kernel();
  } catch (const kernels::UnsupportedArguments& e) {
    result_.outcome = Outcome::waived;
    result_.reason = e.what();
    return false;
  } catch (const std::exception& e) {
    result_.outcome = Outcome::kernel_error;
    result_.reason = e.what();
    return false;
  }
  kernel_returned_ = true;
  check_guards_and_inputs();
  return true;
}

// Guards before inputs, each in the order declared: the failure lines read as they did when every case
// made these calls itself.
void CaseTensors::check_guards_and_inputs() {
  for (Declared& d : declared_)
    if (d.role != Role::input && !d.failed) d.failed = !check_guards(result_, d.name, d.tensor);
  for (Declared& d : declared_)
    if (d.role == Role::input && !d.failed) d.failed = !check_unmodified(result_, d.name, d.checksum_before, d.tensor);
}

void CaseTensors::check_after_case() {
  if (!kernel_returned_ || result_.outcome != Outcome::not_verified) return;
  for (const Declared& d : declared_)
    if (d.role != Role::input && d.zeros == ZeroOutput::fails) check_not_all_zero(result_, d.name, d.tensor.to_doubles());
  if (result_.failures.empty()) return;
  // An input the kernel modified is kept as the kernel left it; its "input" failure says so.
  for (const Declared& d : declared_)
    result_.keep(d.role == Role::input ? d.name : "actual_" + d.name, d.repro_shape, d.tensor.to_doubles());
}

}  // namespace smoothcheck
