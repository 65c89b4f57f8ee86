// Force-included (-include) into every translation unit of the emulated CUDA backend: it selects the
// emulation (SC_CUDA_EMULATION) and renames what the CUDA backend defines with external linkage, so
// that the real backend and its CPU emulation, compiled from the same source, link into one program.
// SC_EMULATION_TAG (default emulated) lets a mutant build (cases/cuda_emulation/) carry names of its own.
#pragma once

#define SC_CUDA_EMULATION 1
#ifndef SC_EMULATION_TAG
#define SC_EMULATION_TAG emulated
#endif
#define SC_EMULATION_PASTE2(a, b) a##_##b
#define SC_EMULATION_PASTE(a, b) SC_EMULATION_PASTE2(a, b)
#define cuda_detail SC_EMULATION_PASTE(cuda_detail, SC_EMULATION_TAG)
#define cuda_launch SC_EMULATION_PASTE(cuda_launch, SC_EMULATION_TAG)
#define cuda_device SC_EMULATION_PASTE(cuda_device, SC_EMULATION_TAG)
#define make_cuda_backend SC_EMULATION_PASTE(make_cuda_backend, SC_EMULATION_TAG)
