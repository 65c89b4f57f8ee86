// cuBLASLt opened on the first call, not at process start (kernels/cuda/cublaslt_on_demand.h). Runs
// without a GPU: the library loads and answers host-side calls (status names, descriptors) on any
// machine that has it, which every machine that builds the CUDA backend does.
#include <dlfcn.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "kernels/cuda/cublaslt_on_demand.h"
#include "kernels/cuda/cuda_headers.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {
namespace {

bool library_loaded() {
  void* h = dlopen(cublaslt_library_name().c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (h) dlclose(h);  // NOLOAD took a reference
  return h != nullptr;
}

// One test, so that the order is this file's: before any call, this process (which links the CUDA
// backend) has not loaded the library; the first call loads it and reaches the library's own function.
TEST(CublasLtOnDemand, LoadedByTheFirstCallNotAtStart) {
  EXPECT_FALSE(library_loaded()) << cublaslt_library_name() << " was loaded before any cuBLASLt call";
  EXPECT_STREQ(cublasLtGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED");
  EXPECT_TRUE(library_loaded());
  // A host-side descriptor made and destroyed through the forwarding functions.
  cublasLtMatrixLayout_t layout = nullptr;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&layout, CUDA_R_8I, 64, 32, 64), CUBLAS_STATUS_SUCCESS);
  EXPECT_NE(layout, nullptr);
  EXPECT_EQ(cublasLtMatrixLayoutDestroy(layout), CUBLAS_STATUS_SUCCESS);
}

TEST(CublasLtOnDemand, EveryForwardedFunctionIsTheLibrarys) {
  for (const char* name :
       {"cublasLtCreate", "cublasLtDestroy", "cublasLtGetStatusName", "cublasLtGetStatusString",
        "cublasLtMatmulDescCreate", "cublasLtMatmulDescDestroy", "cublasLtMatmulDescSetAttribute",
        "cublasLtMatrixLayoutCreate", "cublasLtMatrixLayoutDestroy", "cublasLtMatmulPreferenceCreate",
        "cublasLtMatmulPreferenceDestroy", "cublasLtMatmulPreferenceSetAttribute", "cublasLtMatmulAlgoGetHeuristic",
        "cublasLtMatmul"}) {
    void* f = cublaslt_symbol(name);
    ASSERT_NE(f, nullptr) << name;
    // The library's function, not this process's forwarding definition of the same name.
    EXPECT_NE(f, dlsym(RTLD_DEFAULT, name)) << name;
  }
}

TEST(CublasLtOnDemand, AMissingFunctionIsAnErrorNamingIt) {
  try {
    cublaslt_symbol("cublasLtNoSuchFunction");
    FAIL() << "resolved a function the library lacks";
  } catch (const KernelError& e) {
    EXPECT_NE(std::string(e.what()).find("cublasLtNoSuchFunction"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(cublaslt_library_name()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smoothcheck::kernels
