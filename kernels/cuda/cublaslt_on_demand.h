// cuBLASLt loaded when the backend first calls it, not when a process starts. Linked directly, every
// process that links the CUDA backend (the CLI, every test executable) mapped the 540 MB library and
// ran its relocations before main: 210 MB of resident memory and 0.05 s of start-up, for the GEMM anchor
// that only a GPU run of cuda-cublaslt ever calls. cublaslt_on_demand.cpp defines the cuBLASLt
// functions the project calls, each forwarding to the library's own, which it opens (dlopen, the
// soname of the header compiled against) on the first call.
#pragma once

#include <string>

namespace smoothcheck::kernels {

// The soname opened: "libcublasLt.so.<CUBLAS_VER_MAJOR>".
std::string cublaslt_library_name();

// The library's own `symbol`; throws KernelError naming the library, the symbol and the loader's reason
// when the library cannot be opened or lacks it.
void* cublaslt_symbol(const char* symbol);

}  // namespace smoothcheck::kernels
