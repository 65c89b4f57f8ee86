// A mutant of the CUDA source (cases/cuda_emulation/CMakeLists.txt, smoothcheck_cuda_mutant): each is
// one test executable, cuda_emulation_mutant_NAME, whose emulated backend is the CUDA source with that
// mutant's one change, compiled with SC_EMULATION_TAG mutant (make_cuda_backend_mutant).
#pragma once

namespace smoothcheck::cuda_emulation_cases {

struct CudaMutant {
  const char* name;
  const char* family;
  const char* filter;  // the cases of the family that must catch it
  const char* expect;  // text of the check that must catch it (a failure or the emulation's report)
};

// This executable's mutant (generated for each by cases/cuda_emulation/CMakeLists.txt).
CudaMutant this_cuda_mutant();

}  // namespace smoothcheck::cuda_emulation_cases
