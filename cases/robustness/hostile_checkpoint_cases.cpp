// Hostile checkpoints (issue 7): inputs built to make a reader read out of bounds, allocate without
// bound, follow a path out of the model directory, or parse forever. Each row must be refused with a
// CheckpointError naming the file and the problem, within a time and peak-memory budget, leaving its
// inputs untouched. The malformed-input suites of cases/checkpoint cover ordinary corruption; these
// rows are the adversarial extremes (2^64 - 1 lengths, sparse multi-gigabyte files, bombs, links).
//
// Symlinked files as the Hugging Face cache lays them out (snapshots/<rev>/* -> ../../blobs/<hash>)
// are not hostile and must keep working: see HuggingFaceCacheLayout below.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <ostream>

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/llama_config.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::testing {
namespace {

namespace fs = std::filesystem;
using checkpoint::CheckpointError;

// Budgets per row. Generous next to what a refusal costs (microseconds, kilobytes), far below what
// honouring the hostile sizes would cost (gigabytes); sanitizer builds run several times slower.
constexpr double kSecondsPerRow = 10.0;
constexpr long kPeakGrowthKiB = 256 * 1024;

enum class Reader { checkpoint, model_config, stats };

struct HostileCase {
  std::string name;
  std::function<fs::path(const fs::path& dir)> make;  // builds the input under dir; returns what to open
  Reader reader = Reader::checkpoint;
  std::string problem;  // a phrase the message must contain
};

void PrintTo(const HostileCase& c, std::ostream* os) { *os << c.name; }

// ---- input builders ------------------------------------------------------------------------------

fs::path file_with(const fs::path& dir, const std::string& name, const std::string& bytes) {
  write_bytes(dir / name, bytes);
  return dir / name;
}

// A file of `size` bytes that costs no disk: `head` written at the start, the rest a hole.
fs::path sparse_file(const fs::path& dir, const std::string& name, const std::string& head, std::uint64_t size) {
  const fs::path f = file_with(dir, name, head);
  if (::truncate(f.c_str(), static_cast<off_t>(size)) != 0) throw std::runtime_error("truncate " + f.string());
  return f;
}

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

std::function<fs::path(const fs::path&)> safetensors(const std::string& header, std::size_t data_bytes) {
  return [=](const fs::path& dir) { return file_with(dir, "model.safetensors", safetensors_image(header, data_bytes)); };
}

std::function<fs::path(const fs::path&)> one_tensor(const std::string& dtype, const std::string& shape,
                                                    const std::string& offsets, std::size_t data_bytes = 16) {
  return safetensors(R"({"w":)" + entry(dtype, shape, offsets) + "}", data_bytes);
}

// An index beside one real shard "s.safetensors" holding tensor "a".
std::function<fs::path(const fs::path&)> index(const std::string& json) {
  return [=](const fs::path& dir) {
    checkpoint::write_safetensors(dir / "s.safetensors", {{"a", at::ones({1})}});
    return file_with(dir, "model.safetensors.index.json", json);
  };
}

// An index naming shard "linked.safetensors", a symlink to `target`.
std::function<fs::path(const fs::path&)> index_with_link(const std::string& target) {
  return [=](const fs::path& dir) {
    fs::create_symlink(target, dir / "linked.safetensors");
    return file_with(dir, "model.safetensors.index.json", R"({"weight_map":{"a":"linked.safetensors"}})");
  };
}

std::function<fs::path(const fs::path&)> config(const std::string& json) {
  return [=](const fs::path& dir) { return file_with(dir, "config.json", json); };
}

const std::string kConfigRest =
    R"("intermediate_size":16,"num_attention_heads":2,"vocab_size":4,"hidden_size":8)";

std::string llama2c_header(std::int32_t dim, std::int32_t hidden, std::int32_t layers, std::int32_t heads,
                           std::int32_t kv_heads, std::int32_t vocab, std::int32_t seq) {
  std::string s;
  for (std::int32_t v : {dim, hidden, layers, heads, kv_heads, vocab, seq}) s += i32_le(v);
  return s;
}

std::string nest(const std::string& open, std::size_t depth) {
  std::string s;
  s.reserve(open.size() * depth);
  for (std::size_t i = 0; i < depth; ++i) s += open;
  return s;
}

constexpr std::uint64_t kMax = ~std::uint64_t(0);

std::vector<HostileCase> hostile_cases() {
  const std::string u64max = std::to_string(kMax);
  return {
      // Lengths and sizes at the ends of 64 bits.
      {"header_length_2_pow_64_minus_1", [](const fs::path& d) { return file_with(d, "model.safetensors", u64_le(kMax) + "{}"); },
       Reader::checkpoint, "header length 18446744073709551615 exceeds"},
      {"header_length_2_pow_63", [](const fs::path& d) { return file_with(d, "model.safetensors", u64_le(1ull << 63) + "{}"); },
       Reader::checkpoint, "exceeds"},
      {"header_of_nul_bytes_in_sparse_file",
       [](const fs::path& d) { return sparse_file(d, "model.safetensors", u64_le(1 << 20), 8 + (1 << 20)); },
       Reader::checkpoint, "not valid JSON"},
      {"shape_bytes_overflow_64_bits", one_tensor("F32", "[4611686018427387904]", "[0,0]"), Reader::checkpoint,
       "overflows 64 bits"},
      {"shape_of_many_dims_overflows", one_tensor("I8", "[65536,65536,65536,65536,2]", "[0,0]"), Reader::checkpoint,
       "overflows 64 bits"},
      {"dimension_2_pow_63", one_tensor("I8", "[9223372036854775808]", "[0,0]"), Reader::checkpoint, "overflows 64 bits"},
      {"dimension_beyond_u64", one_tensor("I8", "[18446744073709551616]", "[0,0]"), Reader::checkpoint,
       "not a non-negative integer"},
      {"dimension_int64_min", one_tensor("F32", "[-9223372036854775808]", "[0,0]"), Reader::checkpoint,
       "not a non-negative integer"},
      {"dimension_1e308", one_tensor("F32", "[1e308]", "[0,0]"), Reader::checkpoint, "not a non-negative integer"},
      // 2^60 bytes (an exabyte, more than any address space mapped today), in range for the reader's
      // size arithmetic, so only the data-section bound can refuse it.
      {"tensor_claims_whole_address_space", one_tensor("I8", "[1152921504606846976]", "[0,1152921504606846976]"),
       Reader::checkpoint, "outside the data section"},
      {"tensor_name_with_nul_byte", safetensors(R"({"w\u0000hidden":)" + entry("Q7", "[1]", "[0,1]") + "}", 1),
       Reader::checkpoint, "unknown dtype 'Q7'"},
      {"range_ends_at_2_pow_64_minus_1", one_tensor("F32", "[1]", "[" + std::to_string(kMax - 4) + "," + u64max + "]"),
       Reader::checkpoint, "outside the data section"},
      {"offset_beyond_u64", one_tensor("F32", "[1]", "[0,18446744073709551620]"), Reader::checkpoint,
       "not two non-negative integers"},
      // Bombs and repetition.
      {"array_nesting_bomb", safetensors(nest("[", 1 << 20), 0), Reader::checkpoint, "nests deeper"},
      {"object_nesting_bomb", safetensors(nest(R"({"a":)", 1 << 18), 0), Reader::checkpoint, "nests deeper"},
      {"duplicate_field_in_entry", safetensors(R"({"w":{"dtype":"F32","dtype":"I8","shape":[1],"data_offsets":[0,4]}})", 4),
       Reader::checkpoint, "repeats the key 'dtype'"},
      {"duplicate_metadata_block", safetensors(R"({"__metadata__":{},"__metadata__":{"format":"pt"}})", 0),
       Reader::checkpoint, "repeats the key '__metadata__'"},
      {"index_nesting_bomb", index(R"({"weight_map":)" + nest("[", 1 << 20)), Reader::checkpoint, "nests deeper"},
      {"index_duplicate_tensor_name",
       index(R"({"weight_map":{"a":"s.safetensors","a":"../../etc/passwd"}})"), Reader::checkpoint,
       "repeats the key 'a'"},
      // Shard names and links that lead out of the model directory or into things that never end.
      {"index_absolute_shard_into_proc", index(R"({"weight_map":{"a":"/proc/self/mem"}})"), Reader::checkpoint,
       "is an absolute path"},
      {"index_dotdot_with_backslash", index(R"({"weight_map":{"a":"..\\..\\model.safetensors"}})"), Reader::checkpoint,
       "contains '..'"},
      {"index_dot_slash_shard", index(R"({"weight_map":{"a":"./s.safetensors"}})"), Reader::checkpoint,
       "directory separator"},
      {"index_shard_with_nul_byte", index(R"({"weight_map":{"a":"s.safetensors\u0000.bin"}})"), Reader::checkpoint,
       "NUL byte"},
      {"index_shard_is_the_directory_itself", index(R"({"weight_map":{"a":"."}})"), Reader::checkpoint, "contains '..'"},
      {"shard_link_to_dev_zero", index_with_link("/dev/zero"), Reader::checkpoint, "is not a file"},
      {"shard_link_dangling", index_with_link("/nonexistent/blob"), Reader::checkpoint, "is not a file"},
      {"shard_is_a_fifo",
       [](const fs::path& d) {
         if (::mkfifo((d / "pipe.safetensors").c_str(), 0600) != 0) throw std::runtime_error("mkfifo");
         return file_with(d, "model.safetensors.index.json", R"({"weight_map":{"a":"pipe.safetensors"}})");
       },
       Reader::checkpoint, "is not a file"},
      {"model_file_is_a_directory",
       [](const fs::path& d) {
         fs::create_directory(d / "model.safetensors");
         return d / "model.safetensors";
       },
       Reader::checkpoint, "holds no model.safetensors"},
      // llama2.c headers and config.json fields that would make per-layer bookkeeping unbounded.
      {"llama2c_dims_at_int32_extremes",
       [](const fs::path& d) {
         // 2^30-wide q/k/v/o in each of 4096 layers: 2^72 floats, which only checked arithmetic refuses.
         return file_with(d, "model.bin", llama2c_header(1 << 30, INT32_MAX, 4096, 1, 1, INT32_MAX, INT32_MAX));
       },
       Reader::checkpoint, "overflow 64 bits"},
      {"llama2c_2_pow_26_layers_in_matching_sparse_file",
       [](const fs::path& d) {
         // dim 2, one head, hidden 1, vocab 1, seq 1: 22 floats per layer, so the file (a hole) has
         // exactly the implied length and only the layer count can refuse it.
         const std::uint64_t layers = 1ull << 26, floats = 2 + layers * 22 + 2 + 2;
         return sparse_file(d, "model.bin", llama2c_header(2, 1, static_cast<std::int32_t>(layers), 1, 1, 1, 1),
                            28 + 4 * floats);
       },
       Reader::checkpoint, "n_layers 67108864 exceeds"},
      {"llama2c_vocab_int32_min", [](const fs::path& d) { return file_with(d, "model.bin", llama2c_header(8, 16, 1, 2, 1, INT32_MIN, 4)); },
       Reader::checkpoint, "non-positive dimension"},
      {"config_trillion_layers", config(R"({"num_hidden_layers":1000000000000,)" + kConfigRest + "}"), Reader::model_config,
       "num_hidden_layers 1000000000000 exceeds"},
      {"config_layers_beyond_int64", config(R"({"num_hidden_layers":18446744073709551615,)" + kConfigRest + "}"),
       Reader::model_config, "out of range"},
      {"config_nesting_bomb", config(R"({"quantization_config":)" + nest("[", 1 << 20)), Reader::model_config,
       "nests deeper"},
      {"config_sparse_gigabyte", [](const fs::path& d) { return sparse_file(d, "config.json", "{", 1ull << 30); },
       Reader::model_config, "more than the limit"},
      {"config_eps_overflows_to_infinity", config(R"({"num_hidden_layers":1,"rms_norm_eps":1e400,)" + kConfigRest + "}"),
       Reader::model_config, "number overflow"},
      {"stats_header_length_2_pow_64_minus_1",
       [](const fs::path& d) { return file_with(d, "stats.safetensors", u64_le(kMax) + "{}"); }, Reader::stats,
       "header length 18446744073709551615 exceeds"},
  };
}

// ---- the runner ----------------------------------------------------------------------------------

// Size, mtime and mode of every entry (lstat: links and fifos included, sparse files not read).
std::vector<std::string> stat_fingerprint(const fs::path& dir) {
  std::vector<std::string> lines;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    lines.push_back(e.path().string() + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mode) + " " +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

void open_with(Reader reader, const fs::path& input) {
  switch (reader) {
    case Reader::checkpoint: {
      const auto ckpt = checkpoint::open_checkpoint(input);
      for (const auto& name : ckpt->tensor_names()) ckpt->tensor(name);
      return;
    }
    case Reader::model_config:
      checkpoint::read_llama_config(input);
      return;
    case Reader::stats: {
      checkpoint::LlamaConfig c;
      c.hidden_size = 8, c.intermediate_size = 16, c.num_hidden_layers = 1, c.num_attention_heads = 2,
      c.num_key_value_heads = 2, c.vocab_size = 4;
      // Against the layout's linears: this executable links the parsers the fuzzers instrument (the
      // statistics reader and the layout), not the pipeline.
      pipeline::read_calibration_stats(input, quantized_linears(layout_config_from(c, DType::f32)));
      return;
    }
  }
}

using Opener = std::function<void(Reader, const fs::path&)>;

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

// How one open went, in a child process: a crash or an unbounded allocation ends the child, not the
// suite, and the child's own peak RSS (wait4) measures what this one input cost.
struct OpenOutcome {
  enum Kind { refused, accepted, other_exception, died } kind = died;
  std::string message;  // the exception's what(), or how the child died
  long peak_growth_kib = 0;
  double seconds = 0;
};

OpenOutcome open_in_child(const Opener& open, Reader reader, const fs::path& input) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  const long rss_at_fork = resident_kib();
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    int code = OpenOutcome::accepted;
    std::string message;
    try {
      open(reader, input);
    } catch (const CheckpointError& e) {
      code = OpenOutcome::refused, message = e.what();
    } catch (const std::exception& e) {
      code = OpenOutcome::other_exception, message = e.what();
    }
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(code);
  }
  ::close(fds[1]);
  OpenOutcome out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.message.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.peak_growth_kib = usage.ru_maxrss - rss_at_fork;
  if (WIFEXITED(status) && WEXITSTATUS(status) <= OpenOutcome::other_exception) {
    out.kind = static_cast<OpenOutcome::Kind>(WEXITSTATUS(status));
  } else {
    out.kind = OpenOutcome::died;
    out.message = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                      : "exit code " + std::to_string(WEXITSTATUS(status));
  }
  return out;
}

// Builds the row's input, opens it with `open`, and returns what went wrong (empty: refused as it
// must be). Separate from the test so that HostileCheckpointCanFail can feed it wrong readers.
std::vector<std::string> refusal_problems(const HostileCase& c, const fs::path& dir, const Opener& open) {
  std::vector<std::string> problems;
  const fs::path input = c.make(dir);
  const auto before = stat_fingerprint(dir);
  const OpenOutcome r = open_in_child(open, c.reader, input);
  switch (r.kind) {
    case OpenOutcome::accepted: problems.push_back("accepted"); break;
    case OpenOutcome::other_exception: problems.push_back("threw something other than CheckpointError: " + r.message); break;
    case OpenOutcome::died: problems.push_back("the reader crashed: " + r.message); break;
    case OpenOutcome::refused:
      if (r.message.find(input.string()) == std::string::npos)
        problems.push_back("the message does not name the file: " + r.message);
      if (r.message.find(c.problem) == std::string::npos)
        problems.push_back("expected '" + c.problem + "' in: " + r.message);
      break;
  }
  if (r.seconds > kSecondsPerRow) problems.push_back("took " + std::to_string(r.seconds) + " s");
  if (r.peak_growth_kib > kPeakGrowthKiB)
    problems.push_back("raised the peak RSS by " + std::to_string(r.peak_growth_kib / 1024) + " MiB");
  if (stat_fingerprint(dir) != before) problems.push_back("the reader modified its input");
  return problems;
}

class HostileCheckpoint : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileCheckpoint, RefusedNamingFileAndProblemWithinBudget) {
  ScratchDir dir;
  const auto problems = refusal_problems(GetParam(), dir.path(), open_with);
  EXPECT_TRUE(problems.empty()) << GetParam().name << ":\n  " << ::testing::PrintToString(problems);
}

INSTANTIATE_TEST_SUITE_P(Rows, HostileCheckpoint, ::testing::ValuesIn(hostile_cases()),
                         [](const ::testing::TestParamInfo<HostileCase>& info) { return info.param.name; });

TEST(HostileCheckpoint, SuiteHoldsAtLeastTwentyInputs) { EXPECT_GE(hostile_cases().size(), 20u); }

// Every check of the runner must be able to fail: readers that accept, name another file, give
// another reason, or take the hostile size at its word are each reported.
bool mentions(const std::vector<std::string>& problems, const std::string& phrase) {
  for (const auto& p : problems)
    if (p.find(phrase) != std::string::npos) return true;
  return false;
}

TEST(HostileCheckpointCanFail, WrongReadersAreReported) {
  const HostileCase row = hostile_cases().front();  // header length 2^64 - 1
  ScratchDir a, b, c, d;
  EXPECT_TRUE(mentions(refusal_problems(row, a.path(), [](Reader, const fs::path&) {}), "accepted"));
  EXPECT_TRUE(mentions(refusal_problems(row, b.path(), [](Reader, const fs::path&) {
                         throw CheckpointError("elsewhere.safetensors", "header length 18446744073709551615 exceeds");
                       }),
                       "does not name the file"));
  EXPECT_TRUE(mentions(refusal_problems(row, c.path(), [](Reader, const fs::path& f) { throw CheckpointError(f, "bad"); }),
                       "expected 'header length"));
  EXPECT_TRUE(mentions(refusal_problems(row, d.path(),
                                        [](Reader, const fs::path& f) {
                                          // Believes the header: touches far more memory than the budget.
                                          std::vector<char> taken(static_cast<std::size_t>(kPeakGrowthKiB) * 1024 * 2, 1);
                                          if (taken.back() == 1) throw CheckpointError(f, "header length 18446744073709551615 exceeds");
                                        }),
                       "raised the peak RSS"));
  ScratchDir e, f;
  EXPECT_TRUE(mentions(refusal_problems(row, e.path(), [](Reader, const fs::path&) { std::abort(); }), "crashed"));
  EXPECT_TRUE(mentions(refusal_problems(row, f.path(), [](Reader, const fs::path&) { throw std::out_of_range("at"); }),
                       "other than CheckpointError"));
}

// ---- the Hugging Face cache layout stays readable ----------------------------------------------

// <root>/blobs/<hash> hold the bytes; <root>/snapshots/<rev>/<name> are relative links to them.
struct HubCache {
  ScratchDir root;
  fs::path snapshot = root / "snapshots/0123abcd";
  HubCache() { fs::create_directories(snapshot), fs::create_directories(root / "blobs"); }
  void add(const std::string& name, const std::function<void(const fs::path&)>& write_blob) {
    const fs::path blob = root / "blobs" / ("blob-" + std::to_string(std::hash<std::string>{}(name)));
    write_blob(blob);
    fs::create_symlink("../../blobs/" + blob.filename().string(), snapshot / name);
  }
};

TEST(HuggingFaceCacheLayout, SymlinkedSingleFileAndConfigAreRead) {
  HubCache hub;
  hub.add("model.safetensors", [](const fs::path& f) {
    checkpoint::write_safetensors(f, {{"model.norm.weight", at::arange(4, at::kFloat)}});
  });
  hub.add("config.json", [](const fs::path& f) {
    write_bytes(f, R"({"num_hidden_layers":1,)" + kConfigRest + "}");
  });
  const auto model = checkpoint::open_model_dir(hub.snapshot);
  EXPECT_TRUE(model.checkpoint->tensor("model.norm.weight").equal(at::arange(4, at::kFloat)));
  EXPECT_EQ(checkpoint::llama_config(model).hidden_size, 8);
}

TEST(HuggingFaceCacheLayout, SymlinkedIndexAndShardsAreRead) {
  HubCache hub;
  hub.add("model-00001-of-00002.safetensors",
          [](const fs::path& f) { checkpoint::write_safetensors(f, {{"a", at::ones({2})}}); });
  hub.add("model-00002-of-00002.safetensors",
          [](const fs::path& f) { checkpoint::write_safetensors(f, {{"b", at::zeros({3})}}); });
  hub.add("model.safetensors.index.json", [](const fs::path& f) {
    write_bytes(f, R"({"metadata":{"total_size":20},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                   R"("b":"model-00002-of-00002.safetensors"}})");
  });
  const auto before = stat_fingerprint(hub.root.path());
  const auto ckpt = checkpoint::open_checkpoint(hub.snapshot);
  EXPECT_TRUE(ckpt->tensor("a").equal(at::ones({2})));
  EXPECT_TRUE(ckpt->tensor("b").equal(at::zeros({3})));
  EXPECT_EQ(stat_fingerprint(hub.root.path()), before);
}

}  // namespace
}  // namespace smoothcheck::testing
