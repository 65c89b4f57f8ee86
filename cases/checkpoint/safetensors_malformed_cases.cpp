// Malformed safetensors files, one row each: opening must throw a CheckpointError whose message
// names the file, the tensor (when the problem is one tensor's) and the problem, and the file must
// be left exactly as it was.
#include <unistd.h>

#include <string>
#include <vector>

#include <ostream>

#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/safetensors_reader.h"

namespace smoothcheck::checkpoint {
namespace {

using testing::safetensors_image;
using testing::u64_le;

struct MalformedCase {
  std::string name;
  std::string bytes;
  std::string problem;            // expected substring of the message
  std::string tensor;             // expected tensor named, or empty
  std::uint64_t sparse_size = 0;  // extend the file to this size with a hole (for huge lengths)
};

// gtest prints a row by its name rather than as raw bytes.
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

std::vector<MalformedCase> malformed_cases() {
  const std::uint64_t big = kMaxSafetensorsHeaderBytes + 8;
  return {
      {"truncated_header", std::string("\x10\x00\x00", 3), "truncated header", ""},
      {"header_length_beyond_file", u64_le(1000) + "{}", "header length 1000 exceeds", ""},
      {"header_length_above_cap", u64_le(big) + "{}", "exceeds the limit", "", big + 16},
      {"bad_json", safetensors_image("{\"a\": {\"dtype\": ", 0), "not valid JSON", ""},
      {"header_not_object", safetensors_image("[1, 2]", 0), "not an object", ""},
      {"nesting_too_deep", safetensors_image(R"({"a":{"shape":[[[[1]]]]}})", 0), "nests deeper", ""},
      {"unknown_dtype", safetensors_image(R"({"a":)" + entry("Q7", "[2]", "[0,8]") + "}", 8), "unknown dtype 'Q7'", "a"},
      // The format's other dtypes are listed, not refused, so their ranges get the same checks.
      {"opaque_dtype_range_mismatch", safetensors_image(R"({"a":)" + entry("I64", "[2]", "[0,12]") + "}", 16),
       "hold 12 bytes, but I64 shape [2] needs 16", "a"},
      {"opaque_dtype_overlap",
       safetensors_image(R"({"a":)" + entry("F32", "[4]", "[0,16]") + R"(,"b":)" + entry("I64", "[1]", "[8,16]") + "}", 16),
       "overlap those of 'a'", "b"},
      {"sub_byte_dtype_partial_byte", safetensors_image(R"({"a":)" + entry("F4", "[3]", "[0,2]") + "}", 8),
       "does not fill whole bytes", "a"},
      {"range_mismatch", safetensors_image(R"({"w":)" + entry("F32", "[2,2]", "[0,12]") + "}", 16),
       "hold 12 bytes, but F32 shape [2,2] needs 16", "w"},
      {"range_reversed", safetensors_image(R"({"w":)" + entry("F32", "[0]", "[8,0]") + "}", 16), "ends before it begins",
       "w"},
      {"overlapping_ranges",
       safetensors_image(R"({"a":)" + entry("F32", "[4]", "[0,16]") + R"(,"b":)" + entry("F32", "[4]", "[8,24]") + "}", 24),
       "overlap those of 'a'", "b"},
      // The smallest overlap: one shared byte (a reader comparing begin <= prev.end - 1, or checking only
      // one neighbour, would let it through).
      {"overlap_by_one_byte",
       safetensors_image(R"({"a":)" + entry("I8", "[4]", "[0,4]") + R"(,"b":)" + entry("I8", "[4]", "[3,7]") + "}", 8),
       "overlap those of 'a'", "b"},
      {"range_outside_data_section", safetensors_image(R"({"a":)" + entry("F32", "[4]", "[0,16]") + "}", 8),
       "outside the data section of 8 bytes", "a"},
      {"shape_product_overflow",
       safetensors_image(R"({"a":)" + entry("F32", "[4294967296,4294967296,16]", "[0,0]") + "}", 0), "overflows 64 bits",
       "a"},
      {"negative_dimension", safetensors_image(R"({"a":)" + entry("F32", "[-1,4]", "[0,0]") + "}", 0),
       "not a non-negative integer", "a"},
      {"float_dimension", safetensors_image(R"({"a":)" + entry("F32", "[2.0]", "[0,8]") + "}", 8),
       "not a non-negative integer", "a"},
      {"duplicate_names",
       safetensors_image(R"({"a":)" + entry("F32", "[1]", "[0,4]") + R"(,"a":)" + entry("F32", "[1]", "[4,8]") + "}", 8),
       "repeats the key 'a'", ""},
      {"missing_offsets", safetensors_image(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "lacks 'data_offsets'", "a"},
      {"metadata_not_strings", safetensors_image(R"({"__metadata__":{"format":1}})", 0), "__metadata__ value", ""},
      {"extra_entry_field", safetensors_image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4),
       "unexpected field 'x'", "a"},
  };
}

class SafetensorsMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(SafetensorsMalformed, ThrowsNamingFileTensorAndProblem) {
  const MalformedCase& c = GetParam();
  testing::ScratchDir dir;
  const auto file = dir / (c.name + ".safetensors");
  testing::write_bytes(file, c.bytes);
  // A sparse hole: a file "large" enough for a huge header length without writing 100 MB.
  if (c.sparse_size > 0) {
    ASSERT_EQ(::truncate(file.c_str(), static_cast<off_t>(c.sparse_size)), 0);
  }
  const auto before = testing::fingerprint(file);
  try {
    SafetensorsFile f(file);
    FAIL() << c.name << ": opened without error";
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.problem), std::string::npos) << "expected '" << c.problem << "' in: " << msg;
    EXPECT_EQ(e.file(), file);
    EXPECT_EQ(e.tensor(), c.tensor) << msg;
  }
  EXPECT_TRUE(testing::fingerprint(file) == before) << "the reader modified its input";
}

INSTANTIATE_TEST_SUITE_P(Rows, SafetensorsMalformed, ::testing::ValuesIn(malformed_cases()),
                         [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(SafetensorsMalformed, MissingFileNamesIt) {
  testing::ScratchDir dir;
  try {
    SafetensorsFile f(dir / "absent.safetensors");
    FAIL() << "opened a missing file";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.safetensors: cannot open"), std::string::npos) << e.what();
  }
}

// Gaps between tensors and an empty tensor anywhere are legal; __metadata__ is not a tensor.
TEST(SafetensorsMalformed, GapsEmptyTensorsAndMetadataAreAccepted) {
  testing::ScratchDir dir;
  const auto file = dir / "ok.safetensors";
  testing::write_bytes(file, safetensors_image(R"({"__metadata__":{"format":"pt"},"a":)" + entry("F32", "[1]", "[8,12]") +
                                                   R"(,"e":)" + entry("I8", "[0,5]", "[4,4]") + "}",
                                               16));
  SafetensorsFile f(file);
  ASSERT_EQ(f.entries().size(), 2u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.find("e")->info.nbytes, 0u);
  EXPECT_EQ(f.find("a")->begin, 8u);
}

}  // namespace
}  // namespace smoothcheck::checkpoint
