// The part of the CUDA runtime and cuBLASLt API that kernels/cuda/ uses, for the same source compiled
// as host C++ (SC_CUDA_EMULATION): the types with CUDA's names and the runtime calls, backed by the
// emulation's device memory (device_memory.h) and block scheduler. Declared in
// smoothcheck::emulated_cuda_api and made visible to every smoothcheck namespace, so that the emulated
// objects never define the global symbols libcudart defines (both backends link into one program).
// Included instead of <cuda_runtime_api.h> and <cublasLt.h> by kernels/cuda/cuda_headers.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smoothcheck::emulated_cuda_api {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};

struct alignas(16) uint4 {
  unsigned x, y, z, w;
};

// The values are CUDA's (driver_types.h), so a message names the same error a GPU would.
enum cudaError { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2,
                 cudaErrorInvalidConfiguration = 9, cudaErrorInvalidDevice = 101, cudaErrorLaunchFailure = 719 };
using cudaError_t = cudaError;

struct EmulatedStream;
using cudaStream_t = EmulatedStream*;

enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2,
                      cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };
enum cudaDeviceAttr { cudaDevAttrComputeCapabilityMajor = 75, cudaDevAttrComputeCapabilityMinor = 76 };

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpy2D(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                         std::size_t height, cudaMemcpyKind kind);
cudaError_t cudaMemset(void* dst, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaGetLastError();
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);

// cuBLASLt is GPU-only: the emulated backend runs the project's own GEMM, and these say so.
enum cublasStatus_t { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_SUPPORTED = 15 };
struct EmulatedCublasLt;
using cublasLtHandle_t = EmulatedCublasLt*;
cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle);
cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle);
const char* cublasLtGetStatusName(cublasStatus_t s);
const char* cublasLtGetStatusString(cublasStatus_t s);

// The emulation's own: records a launch's configuration error for cudaGetLastError, as a launch does.
void set_last_error(cudaError_t e);

}  // namespace smoothcheck::emulated_cuda_api

namespace smoothcheck {
using namespace emulated_cuda_api;  // NOLINT: the CUDA source names these unqualified
}
