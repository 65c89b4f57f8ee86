// A walk over a pickle's opcodes (the format of Python's pickle module, protocols 0-5, as documented by
// its pickletools module) that checks every length the stream claims against the bytes that remain,
// before LibTorch's unpickler sees it. LibTorch 1.13 reserves a string of whatever length a BINUNICODE
// or BINBYTES opcode claims before reading it, so a 2.5 KB archive claiming a 1.9 GB string made the
// loader allocate that much (found by fuzz_bin_loader; cases/fuzz/corpus/bin_loader/
// crash-libtorch-unpickler-huge-string-length). Unknown opcodes are refused too: a torch.save archive
// uses a small, known subset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace smoothcheck::checkpoint {

// Throws CheckpointError(file, problem) naming the opcode's offset when a claimed length runs past the
// end of the pickle, a memo index skips ahead of the entries stored so far (LibTorch sizes its memo by
// it: a LONG_BINPUT of 1.6e9 asked for 26.7 GB in CI's fuzz run), a line argument has no end, an opcode
// is unknown, or the stream has no STOP.
void check_pickle_lengths(const std::uint8_t* data, std::size_t size, const std::filesystem::path& file);

}  // namespace smoothcheck::checkpoint
