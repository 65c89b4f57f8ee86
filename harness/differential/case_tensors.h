// The named inputs and outputs of one run of a case, and the checks every case needs on them, owned by
// the runner so that no case can forget one (design.md: poisoned outputs, guard bands, inputs left
// untouched, outputs not all zero, a repro of every failure).
//
// A case declares its tensors here, runs its kernel through run_kernel, then judges what the kernel wrote
// against the reference. Right after every kernel call that returns, run_kernel checks the guard band of
// each output and that each input is unmodified; once the case has judged, the runner
// (check_after_case) checks the outputs that must not be all zero and, when anything failed, keeps every
// input and every actual output ("actual_<name>") for the repro. A kernel that throws (waived, or a
// kernel error) ends the case without any of these checks: there is nothing to compare.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "harness/differential/host_tensor.h"
#include "harness/differential/outcome.h"

namespace smoothcheck {

// Whether an output that is all zero fails the case (CUTLASS: a kernel that writes nothing must not pass).
// allowed where zeros are a correct answer: generators.h may_be_all_zero rows, or scales and other
// outputs the case checks in their own terms.
enum class ZeroOutput { fails, allowed };

class CaseTensors {
 public:
  explicit CaseTensors(CaseResult& result) : result_(result) {}
  CaseTensors(const CaseTensors&) = delete;
  CaseTensors& operator=(const CaseTensors&) = delete;

  // An input holding values (rounded to dtype), rows padded by pad elements; kept as [rows, cols].
  HostTensor& input_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, int64_t pad,
                           const std::vector<double>& values);
  // An input of values.size() elements; kept as [size].
  HostTensor& input_vector(std::string name, DType dtype, const std::vector<double>& values);
  // A poisoned output with guards after it and in its row padding; kept as [rows, cols] or [size].
  HostTensor& output_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, int64_t pad, ZeroOutput zeros);
  HostTensor& output_vector(std::string name, DType dtype, int64_t size, ZeroOutput zeros);
  // A tensor the kernel rewrites in place (apply_smoothing): it starts with values, is guarded and kept
  // like an output, and is of course not checked unmodified.
  HostTensor& in_place_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, int64_t pad,
                              const std::vector<double>& values, ZeroOutput zeros);

  // Runs the kernel: UnsupportedArguments (a documented limit of that implementation) waives the case with
  // its message, any other exception is a kernel error; either returns false and the case returns at once.
  // When the kernel returns, the guard and input checks run (each tensor's failure is reported once).
  bool run_kernel(const std::function<void()>& kernel);

  // The runner's checks after the case judged (see the top of this file). Nothing when no kernel ran to
  // completion or the outcome is decided already (waived, kernel error).
  void check_after_case();

 private:
  enum class Role { input, output, in_place };
  struct Declared {
    std::string name;
    Role role;
    std::vector<int64_t> repro_shape;
    ZeroOutput zeros;
    HostTensor tensor;
    uint64_t checksum_before = 0;  // inputs only
    bool failed = false;           // a guard or input failure already reported
  };

  HostTensor& declare(Declared declared);
  void check_guards_and_inputs();

  CaseResult& result_;
  std::deque<Declared> declared_;  // a deque: the references handed out stay valid as more are declared
  bool kernel_returned_ = false;
};

}  // namespace smoothcheck
