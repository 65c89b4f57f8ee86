#include "harness/checkpoint/llama2c_reader.h"

#include <cstring>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/llama_config.h"

namespace smoothcheck::checkpoint {

namespace {

constexpr std::uint64_t kHeaderBytes = 7 * 4;

std::int32_t read_i32_le(const std::uint8_t* p) {
  std::uint32_t v = std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
  std::int32_t s;
  std::memcpy(&s, &v, 4);
  return s;
}

// Checked u64 arithmetic: an absurd header must fail as "overflow", not wrap to a size that
// happens to match the file.
struct Checked {
  const std::filesystem::path& file;
  std::uint64_t mul(std::uint64_t a, std::uint64_t b) const {
    std::uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) throw CheckpointError(file, "header dimensions overflow 64 bits");
    return r;
  }
  std::uint64_t add(std::uint64_t a, std::uint64_t b) const {
    std::uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) throw CheckpointError(file, "header dimensions overflow 64 bits");
    return r;
  }
};

}  // namespace

Llama2cFile::Llama2cFile(const std::filesystem::path& path) : file_(path) {
  const std::uint64_t size = file_.size();
  if (size < kHeaderBytes)
    throw CheckpointError(path, "truncated llama2.c header: the file has " + std::to_string(size) +
                                    " bytes, fewer than the 28 of seven int32");
  const std::uint8_t* p = file_.data();
  Llama2cHeader& h = header_;
  h.dim = read_i32_le(p);
  h.hidden_dim = read_i32_le(p + 4);
  h.n_layers = read_i32_le(p + 8);
  h.n_heads = read_i32_le(p + 12);
  h.n_kv_heads = read_i32_le(p + 16);
  h.vocab_size = read_i32_le(p + 20);
  h.seq_len = read_i32_le(p + 24);
  h.shared_classifier = h.vocab_size > 0;
  // |INT32_MIN| is not an int32; refuse it with the other non-positive values.
  if (h.vocab_size == INT32_MIN) h.vocab_size = 0;
  if (h.vocab_size < 0) h.vocab_size = -h.vocab_size;

  const std::string dims = "dim " + std::to_string(h.dim) + ", hidden_dim " + std::to_string(h.hidden_dim) +
                           ", n_layers " + std::to_string(h.n_layers) + ", n_heads " + std::to_string(h.n_heads) +
                           ", n_kv_heads " + std::to_string(h.n_kv_heads) + ", vocab_size " +
                           std::to_string(h.vocab_size) + ", seq_len " + std::to_string(h.seq_len);
  if (h.dim <= 0 || h.hidden_dim <= 0 || h.n_layers <= 0 || h.n_heads <= 0 || h.n_kv_heads <= 0 ||
      h.vocab_size <= 0 || h.seq_len <= 0)
    throw CheckpointError(path, "llama2.c header has a non-positive dimension (" + dims + ")");
  if (h.n_layers > kMaxHiddenLayers)
    throw CheckpointError(path, "llama2.c header: n_layers " + std::to_string(h.n_layers) + " exceeds the limit of " +
                                    std::to_string(kMaxHiddenLayers) + " (" + dims + ")");
  if (h.dim % h.n_heads != 0)
    throw CheckpointError(path, "llama2.c header: n_heads does not divide dim (" + dims + ")");
  if (h.n_heads % h.n_kv_heads != 0)
    throw CheckpointError(path, "llama2.c header: n_kv_heads does not divide n_heads (" + dims + ")");
  const std::uint64_t head_dim = static_cast<std::uint64_t>(h.dim / h.n_heads);
  if (head_dim % 2 != 0)
    throw CheckpointError(path, "llama2.c header: head_dim " + std::to_string(head_dim) +
                                    " is odd, RoPE needs pairs (" + dims + ")");

  const Checked c{path};
  const std::uint64_t dim = static_cast<std::uint64_t>(h.dim), hidden = static_cast<std::uint64_t>(h.hidden_dim),
                      layers = static_cast<std::uint64_t>(h.n_layers), vocab = static_cast<std::uint64_t>(h.vocab_size),
                      seq = static_cast<std::uint64_t>(h.seq_len);
  const std::uint64_t kv_dim = head_dim * static_cast<std::uint64_t>(h.n_kv_heads);

  // The arrays in file order. Sizes are summed (with overflow checks) and compared with the file
  // length before any per-layer tensor is registered, so an absurd n_layers fails fast instead of
  // building billions of entries.
  struct Array {
    std::string hf_pattern;  // "{}" stands for the layer index
    std::uint64_t count;
    std::vector<std::int64_t> shape;
    std::int64_t rope_heads;
    std::uint64_t per = 0, offset = 0;  // floats
  };
  const auto D = static_cast<std::int64_t>(dim), H = static_cast<std::int64_t>(hidden),
             KV = static_cast<std::int64_t>(kv_dim), V = static_cast<std::int64_t>(vocab);
  std::vector<Array> arrays = {
      {"model.embed_tokens.weight", 1, {V, D}, 0},
      {"model.layers.{}.input_layernorm.weight", layers, {D}, 0},
      {"model.layers.{}.self_attn.q_proj.weight", layers, {D, D}, h.n_heads},
      {"model.layers.{}.self_attn.k_proj.weight", layers, {KV, D}, h.n_kv_heads},
      {"model.layers.{}.self_attn.v_proj.weight", layers, {KV, D}, 0},
      {"model.layers.{}.self_attn.o_proj.weight", layers, {D, D}, 0},
      {"model.layers.{}.post_attention_layernorm.weight", layers, {D}, 0},
      {"model.layers.{}.mlp.gate_proj.weight", layers, {H, D}, 0},  // w1
      {"model.layers.{}.mlp.down_proj.weight", layers, {D, H}, 0},  // w2
      {"model.layers.{}.mlp.up_proj.weight", layers, {H, D}, 0},    // w3
      {"model.norm.weight", 1, {D}, 0},
      // freq_cis_real and freq_cis_imag, [seq_len, head_dim/2] each: counted, not exposed
      {"", 1, {static_cast<std::int64_t>(seq), static_cast<std::int64_t>(head_dim)}, 0},
  };
  if (!h.shared_classifier) arrays.push_back({"lm_head.weight", 1, {V, D}, 0});

  std::uint64_t offset = 0;
  for (Array& a : arrays) {
    a.per = 1;
    for (auto d : a.shape) a.per = c.mul(a.per, static_cast<std::uint64_t>(d));
    a.offset = offset;
    offset = c.add(offset, c.mul(a.count, a.per));
  }
  const std::uint64_t expected = c.add(kHeaderBytes, c.mul(offset, 4));
  if (size != expected)
    throw CheckpointError(path, "llama2.c file has " + std::to_string(size) + " bytes, but its header (" + dims +
                                    (h.shared_classifier ? ", tied classifier" : ", untied classifier") +
                                    ") implies exactly " + std::to_string(expected));

  for (const Array& a : arrays) {
    if (a.hf_pattern.empty()) continue;
    for (std::uint64_t i = 0; i < a.count; ++i) {
      std::string name = a.hf_pattern;
      if (const auto at = name.find("{}"); at != std::string::npos) name.replace(at, 2, std::to_string(i));
      Slice s;
      s.info.dtype = DType::f32;
      s.info.shape = a.shape;
      s.info.nbytes = a.per * 4;  // within the file length checked above: no overflow
      s.float_offset = a.offset + i * a.per;
      s.rope_heads = a.rope_heads;
      tensors_[name] = s;
    }
  }
}

std::vector<std::string> Llama2cFile::tensor_names() const {
  std::vector<std::string> names;
  for (const auto& [n, _] : tensors_) names.push_back(n);
  return names;
}

const TensorInfo& Llama2cFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw CheckpointError(path(), name, "no such tensor in this llama2.c file");
  return it->second.info;
}

void Llama2cFile::copy_to(const std::string& name, void* dst) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw CheckpointError(path(), name, "no such tensor in this llama2.c file");
  const Slice& s = it->second;
  const std::uint8_t* src = file_.data() + kHeaderBytes + s.float_offset * 4;
  if (s.rope_heads == 0) {
    std::memcpy(dst, src, s.info.nbytes);
    return;
  }
  // HF's permute: w.view(heads, head_dim/2, 2, in).transpose(1, 2).reshape(out, in). Row
  // (h, half, i) of the result is row (h, i, half) = h*head_dim + 2*i + half of the original, so the
  // first half of each head holds the even (real) rows and the second half the odd (imaginary) ones.
  const std::int64_t rows = s.info.shape[0], cols = s.info.shape[1];
  const std::int64_t head_dim = rows / s.rope_heads, half_dim = head_dim / 2;
  const std::size_t row_bytes = static_cast<std::size_t>(cols) * 4;
  auto* out = static_cast<std::uint8_t*>(dst);
  for (std::int64_t h = 0; h < s.rope_heads; ++h)
    for (std::int64_t half = 0; half < 2; ++half)
      for (std::int64_t i = 0; i < half_dim; ++i) {
        const std::int64_t to = h * head_dim + half * half_dim + i;
        const std::int64_t from = h * head_dim + 2 * i + half;
        std::memcpy(out + to * row_bytes, src + from * row_bytes, row_bytes);
      }
}

}  // namespace smoothcheck::checkpoint
