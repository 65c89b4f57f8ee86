// The object a torch.save archive (the zip format of torch >= 1.6) holds, unpickled by LibTorch's own
// unpickler over a bounds-checked reader: the one step every torch.save reader shares (the flat dict of
// a pytorch_model.bin, torch_bin_reader.cpp; the dict of dicts of lmdeploy's calibration statistics,
// torch_tensor_tables_reader.cpp). The unpickler builds only lists, dicts, tuples, scalars, strings
// and tensors: globals other than the tensor-rebuilding ones are refused by LibTorch, so a hostile
// archive runs no code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <ATen/core/ivalue.h>

namespace smoothcheck::checkpoint {

// Whether `bytes` (the first bytes of a file, at least 4 of them) open a zip archive, the container of
// torch.save since torch 1.6. Safetensors files open with an 8-byte little-endian header length.
bool starts_like_zip_archive(const std::uint8_t* bytes, std::size_t size);

// Throws CheckpointError naming the file for a file that is not a zip archive (the pre-1.6 format is
// not read), a damaged archive, a pickle whose lengths run past its end (pickle_scan.h), or one that
// LibTorch cannot unpickle. Tensor data is copied: nothing returned refers to the file.
c10::IValue unpickle_torch_archive(const std::filesystem::path& file);

// Throws CheckpointError(file, name, ...) unless every element the tensor's sizes, strides and offset
// address lies inside its storage. The unpickler takes them from the pickle as they are, without
// holding them against the storage record's size: a damaged or hostile archive can claim 100 elements
// of a 4-byte record, and whatever then reads the tensor reads past the allocation. Every reader
// checks each tensor it hands out.
void check_tensor_within_storage(const std::filesystem::path& file, const std::string& name, const at::Tensor& t);

}  // namespace smoothcheck::checkpoint
