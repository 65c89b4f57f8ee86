// A stored tensor's bytes where they lie in a mapped file (its dtype, little-endian, row-major, possibly
// unaligned): read-only, valid while the checkpoint that gave them is open (Checkpoint::mapped). A pass
// over a large tensor reads them in place instead of copying the tensor out, and drops each range's
// pages once read. Torch-free: the pipeline's float weights hold them.
#pragma once

#include <cstdint>

#include "harness/checkpoint/mapped_file.h"
#include "harness/checkpoint/tensor_info.h"

namespace smoothcheck::checkpoint {

struct MappedTensorBytes {
  TensorInfo info;
  const std::uint8_t* data = nullptr;  // info.nbytes bytes
  const MappedFile* file = nullptr;
  std::uint64_t file_offset = 0;  // of data in file

  // Drops this process's pages of bytes [offset, offset + n) of the tensor (MappedFile::release_pages:
  // pages shared with a neighbouring range stay until a release covers them whole).
  void release(std::uint64_t offset, std::uint64_t n) const { file->release_pages(file_offset + offset, n); }
};

}  // namespace smoothcheck::checkpoint
