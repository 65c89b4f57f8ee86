// The pickle length walk that guards LibTorch's unpickler (harness/checkpoint/pickle_scan.h): a stream
// whose claimed lengths fit passes, and each way a hostile data.pkl can claim more than it holds is
// refused naming the offset (the fuzzer's 2.5 KB archive claiming a 1.9 GB string among them).
#include <gtest/gtest.h>

#include <string>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/pickle_scan.h"

namespace smoothcheck::checkpoint {
namespace {

void scan(const std::string& bytes) {
  check_pickle_lengths(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "x/data.pkl");
}

std::string problem_of(const std::string& bytes) {
  try {
    scan(bytes);
  } catch (const CheckpointError& e) {
    return e.problem();
  }
  return "";
}

// PROTO 2, then the opcodes torch.save writes for {"w": storage}: every argument kind once.
const std::string kValid = std::string("\x80\x02}q\x00(X\x01\x00\x00\x00wq\x01", 14) +
                           "ctorch._utils\n_rebuild_tensor_v2\n" + std::string("(K\x00M\x10\x00J\x00\x00\x01\x00", 11) +
                           std::string("\x8a\x01\x05\x89)R\x85Rtu.", 11);

TEST(PickleScan, AcceptsWhatFitsAndIgnoresBytesAfterStop) {
  EXPECT_NO_THROW(scan(kValid));
  EXPECT_NO_THROW(scan(kValid + "garbage after STOP is never read"));
}

TEST(PickleScan, RefusesLengthsPastTheEnd) {
  // BINUNICODE claiming 2^31 - 1 bytes: what made LibTorch reserve gigabytes.
  EXPECT_NE(problem_of(std::string("\x80\x02X\xff\xff\xff\x7f" "ab.", 10)).find("claims 2147483647 bytes but 3 remain"),
            std::string::npos);
  EXPECT_NE(problem_of(std::string("\x80\x02\x8e\x00\x00\x00\x00\x01\x00\x00\x00.", 12)).find("claims 4294967296 bytes"),
            std::string::npos);  // BINBYTES8
  EXPECT_NE(problem_of(std::string("\x80\x02T\xfe\xff\xff\xff.", 8)).find("negative length"), std::string::npos);
  EXPECT_NE(problem_of(std::string("\x80\x02\x95\x00\x10\x00\x00\x00\x00\x00\x00.", 12)).find("a frame claims"),
            std::string::npos);
  EXPECT_NE(problem_of(std::string("\x80\x02J\x01\x02", 5)).find("an argument claims 4 bytes but 2 remain"),
            std::string::npos);
}

TEST(PickleScan, RefusesMemoIndicesThatSkipAhead) {
  // LONG_BINPUT 0x63656761 as the first memo entry: LibTorch would size its memo table by it.
  EXPECT_NE(problem_of(std::string("\x80\x02}r\x61\x67\x65\x63.", 9)).find("memo index 1667589985 skips ahead of the 0"),
            std::string::npos);
  EXPECT_NE(problem_of(std::string("\x80\x02}q\x00]q\x02.", 9)).find("memo index 2 skips ahead of the 1"),
            std::string::npos);
  EXPECT_NE(problem_of("\x80\x02}p7\n.").find("memo index 7"), std::string::npos);
  EXPECT_NO_THROW(scan(std::string("\x80\x02}q\x00]q\x01q\x00\x94.", 12)));  // sequential, reused, MEMOIZE
}

TEST(PickleScan, RefusesMalformedStreams) {
  EXPECT_NE(problem_of(std::string("\x80\x02\xff.", 4)).find("unknown pickle opcode 0xff"), std::string::npos);
  EXPECT_NE(problem_of("\x80\x02" "ctorch\nFloatStorage").find("no end of line"), std::string::npos);
  EXPECT_NE(problem_of(std::string("\x80\x02}", 3)).find("without its STOP"), std::string::npos);
  try {
    scan(std::string("\x80\x02\xff.", 4));
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("x/data.pkl"), std::string::npos) << e.what();
    EXPECT_NE(e.problem().find("at byte 2"), std::string::npos) << e.problem();
  }
}

}  // namespace
}  // namespace smoothcheck::checkpoint
