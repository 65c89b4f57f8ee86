// Each engine profile's kernels against the known answers upstream's own code produced
// (cases/upstream_known_answers/: lmdeploy, compressed-tensors, llm-compressor, and ports of the
// SmoothQuant authors' smooth.py and of TensorRT-LLM), bit for bit (float32 statistics and s within a
// stated tier), with the profile's options (kernels/engine_profiles.h): cpu-scalar, cpu-avx2, the CUDA
// source executed on the CPU (cuda-emulated) and, where a GPU exists, the CUDA backend itself. vLLM's
// ports have their own test (vllm_known_answer_tests.cpp); the whole-model comparison is
// cases/pipeline/upstream_whole_model_cases.cpp.
//
// A case upstream computes differently from smoothcheck today is a named divergence (kDivergences, the
// reason and the issue that tracks it): it is reported as skipped with that reason, never as a pass,
// and a divergence whose case has come to match fails the test, so that the list cannot go stale.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>

#include "cases/engine_profiles/known_answer_file.h"
#include "harness/backends.h"
#include "kernels/engine_profiles.h"
#include "kernels/numerics.h"
#include "reference/reference.h"

namespace smoothcheck::known_answers {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(SMOOTHCHECK_SOURCE_DIR) / "cases" / "upstream_known_answers";

struct EngineFile {
  const char* file;
  EngineProfile profile;
};
// TensorRT-LLM has no engine profile yet (its recipe, weight quantiser, epilogue and runtime smoother
// have no option values: kDivergences); its per-token quantiser is the named preset trtllm_act_quant(),
// held to the port's known answers here. The rest of this profile is never used for its cases.
constexpr EngineProfile trtllm_runtime_only() {
  EngineProfile p = lmdeploy_profile();
  p.activation = trtllm_act_quant();
  p.upstream = "TensorRT-LLM (port): cpp/tensorrt_llm/kernels/quantization.cuh";
  return p;
}

const EngineFile kFiles[] = {{"lmdeploy.json", lmdeploy_profile()},
                             {"compressed_tensors.json", llmcompressor_profile()},
                             {"llmcompressor.json", llmcompressor_profile()},
                             {"smoothquant_authors.json", smoothquant_profile()},
                             {"trtllm.json", trtllm_runtime_only()}};

// Cases smoothcheck does not reproduce yet, each with the reason found in upstream's code.
struct Divergence {
  const char* case_name_part;  // every case whose name contains this
  const char* reason;
};
const Divergence kDivergences[] = {
    {"lmdeploy_smooth_ln_fcs_f16_maxmin_overflow",
     "deliberate: lmdeploy's fp16 max(s)·min(s) overflows to inf, which makes every s 0 and the norm weight inf "
     "(awq.py smooth_ln_fcs; its NaN assert does not catch inf); smoothcheck forms the product in float32, as "
     "lmdeploy's own smooth_fc_fcs does, rather than reproduce a broken model"},
    {"trtllm_smooth_", "no TensorRT-LLM engine profile yet: its s has no weight floor (convert.py discards the clamp), "
                       "is formed in float64 and applied as f16(f32(x * s64)); o_proj/down_proj get a runtime smoother "
                       "instead of a folded s (issue 13 closing note)"},
    {"trtllm_quantize_weight", "no TensorRT-LLM engine profile yet: its weight quantiser multiplies by an fp16 127/absmax "
                               "and stores f32(f16(1/that)) (convert_utils.py generate_int8), no WeightQuant value"},
    {"trtllm_gemm_w8a8", "no TensorRT-LLM engine profile yet: its epilogue is float(acc) * f32(scale_b * scale_a) with no "
                         "bias (epilogue_per_row_per_col_scale.h), no Epilogue value"},
    {"trtllm_quantize_per_token_f16_below_floor", "TensorRT-LLM starts the row max at T(1e-6f), the floor cast to the "
                                                  "activation's dtype (quantization.cuh perTokenQuantization); "
                                                  "trtllm_act_quant() floors at the float 1e-6"},
    {"trtllm_quantize_per_token_bf16_below_floor", "TensorRT-LLM starts the row max at T(1e-6f), the floor cast to the "
                                                   "activation's dtype; trtllm_act_quant() floors at the float 1e-6"},
    {"_nan_inf", "TensorRT-LLM clamps every input to [-FLT_MAX, FLT_MAX] in its dtype before the row max, so a NaN "
                 "becomes -FLT_MAX (code -127, the rest of the row 0) and an f32 inf FLT_MAX; smoothcheck's absmax "
                 "skips NaN (vLLM's fmaxf rule) and keeps inf"},
    {"trtllm_quantize_per_token_f32_neg_inf", "TensorRT-LLM clamps -inf to -FLT_MAX before the row max (see _nan_inf)"},
    {"trtllm_smoother_", "no TensorRT-LLM engine profile yet: its runtime divides the activation by dtype(smoother) in "
                         "the model's dtype, where smoothcheck's migration multiplies by f32(1/s)"},
};

const Divergence* divergence_of(const std::string& name) {
  for (const Divergence& d : kDivergences)
    if (d.case_name_part[0] && name.find(d.case_name_part) != std::string::npos) return &d;
  return nullptr;
}

struct Row {
  const KnownCase* c;
  EngineProfile profile;
  std::string backend;
};

void PrintTo(const Row& r, std::ostream* os) { *os << r.c->file << " " << r.c->name << " on " << r.backend; }

// The files of kFiles, in its order, read once per process.
const std::vector<KnownAnswerFile>& known_files() {
  static const std::vector<KnownAnswerFile> files = [] {
    std::vector<KnownAnswerFile> read;
    for (const EngineFile& f : kFiles) read.push_back(read_known_answer_file(kDir / f.file));
    return read;
  }();
  return files;
}

std::vector<Row> all_rows() {
  const std::vector<KnownAnswerFile>& files = known_files();
  std::vector<Row> rows;
  for (std::size_t i = 0; i < files.size(); ++i)
    for (const KnownCase& c : files[i].cases)
      for (const char* backend : {"cpu-scalar", "cpu-avx2", "cuda-emulated", "cuda"}) rows.push_back({&c, kFiles[i].profile, backend});
  return rows;
}

// Differences between what smoothcheck computed (already rounded to the expected dtype) and upstream's
// answer, element by element. A comparison is bit for bit unless given a tier in ulps of the dtype;
// NaNs compare equal to NaNs.
struct Mismatches {
  std::ostringstream text;
  int count = 0;
  double worst_ulps = 0;  // the largest difference a tier admitted
  // ulps_of: the dtype whose ulps the tier counts (default the expected tensor's own).
  void compare(const std::string& what, const std::vector<double>& ours, const KnownTensor& expected,
               double tier_ulps = 0, std::optional<DType> ulps_of = std::nullopt) {
    if (ours.size() != expected.values.size()) {
      text << what << ": " << ours.size() << " elements, upstream has " << expected.values.size() << "\n";
      ++count;
      return;
    }
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const double a = ours[i], b = expected.values[i];
      if (a == b || (std::isnan(a) && std::isnan(b))) continue;
      const bool is_float = expected.dtype == DType::f32 || expected.dtype == DType::f16 || expected.dtype == DType::bf16;
      const double ulps = is_float && std::isfinite(a) && std::isfinite(b) ? std::fabs(a - b) / reference::ulp_of(b, ulps_of.value_or(expected.dtype))
                                                                         : INFINITY;
      if (ulps <= tier_ulps) {
        worst_ulps = std::max(worst_ulps, ulps);
        continue;
      }
      if (count < 12) text << what << "[" << i << "]: smoothcheck " << a << ", upstream " << b << " (" << ulps << " ulp)\n";
      ++count;
    }
  }
};

// The tier of the statistics and of s, in ulps of their dtype. In float32, upstream's s passes through
// up to six roundings, each within one ulp: a^α and w^(1-α) (pow), their quotient, lmdeploy's max·min
// product, its square root (torch's CPU sqrt is itself off by one ulp for about a sixth of float32
// inputs: cases/upstream_known_answers/README.md) and the division by it; the weight statistic is a
// float32 sum of at most six rows and a division. smoothcheck's float32 kernels round s once or twice
// from the same formula, so the two can differ by the sum of those errors, not more: six ulps. In a
// bf16/f16 model's dtype the kernels take upstream's own roundings step by step (kernels/numerics.h):
// bit for bit on the CPU; a GPU's powf may differ from glibc's by an f32 ulp, which the rounding to the
// dtype almost always absorbs: one ulp there. Everything applied afterwards (norm / s, W · s, the
// previous fc's rows) is compared bit for bit, from upstream's own s.
constexpr double kStatisticTierUlps = 6;
double statistic_tier(DType arithmetic, bool device_pow) {
  return arithmetic == DType::f32 ? kStatisticTierUlps : device_pow ? 1.0 : 0.0;
}

std::vector<double> rounded(const std::vector<double>& v, DType dtype) {
  std::vector<double> out;
  for (double x : v) out.push_back(reference::round_to_dtype(x, dtype));
  return out;
}
std::vector<double> floats(const float* p, int64_t n) { return std::vector<double>(p, p + n); }
std::vector<float> as_floats(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// One case through the backend; what differs is recorded in m.
// device_pow: the backend runs CUDA's powf (statistic_tier).
void run_case(const KnownCase& c, const EngineProfile& profile, kernels::Backend& b, bool device_pow, Mismatches& m) {
  // upstream writes -1 for "whole rows", smoothcheck 0.
  // Groups are lmdeploy's alone (another recipe, in the can-fail test, takes whole rows).
  const int64_t group_size =
      profile.recipe == Recipe::lmdeploy ? std::max<int64_t>(0, c.params.value("group_size", int64_t(-1))) : 0;
  if (c.step == "weight_stat") {
    const KnownTensor& w = c.input("weight");
    const HostTensor wt = w.host();
    const kernels::ConstMatrix fc = wt.matrix();
    std::vector<float> stat(std::size_t(w.cols()));
    const DType arithmetic = profile.smoothing_arithmetic == SmoothingArithmetic::model_dtype ? w.dtype : DType::f32;
    b.weight_stat(&fc, 1, profile.recipe, group_size, stat.data(), arithmetic);
    m.compare("w", rounded(floats(stat.data(), w.cols()), c.output("w").dtype), c.output("w"),
              statistic_tier(arithmetic, device_pow));
  } else if (c.step == "smooth_ln_fcs" || c.step == "smooth_fc_fcs") {
    const bool ln = c.step == "smooth_ln_fcs";
    std::vector<HostTensor> fcs;
    std::vector<kernels::ConstMatrix> views;
    for (const KnownTensor* t : c.numbered_inputs("fc")) fcs.push_back(t->host());
    for (const HostTensor& t : fcs) views.push_back(t.matrix());
    const int64_t C = fcs.front().cols();
    // The dtype the profile smooths in (the pipeline's smooth_groups): the fcs' own under model_dtype.
    const DType model = fcs.front().dtype();
    const DType arithmetic = profile.smoothing_arithmetic == SmoothingArithmetic::model_dtype ? model : DType::f32;
    std::vector<float> w(static_cast<std::size_t>(C)), s(static_cast<std::size_t>(C));
    b.weight_stat(views.data(), int(views.size()), profile.recipe, group_size, w.data(), arithmetic);
    std::vector<float> a = as_floats(c.input("act_scales").values);
    for (float& v : a) v = numerics::round_to(v, arithmetic);  // act_scales.to(dtype)
    const std::vector<float> norm = ln ? as_floats(c.input("norm_weight").values) : std::vector<float>{};
    b.smooth_scale(a.data(), w.data(), ln && profile.recipe == Recipe::lmdeploy ? norm.data() : nullptr, C,
                   profile.recipe, c.params.at("alpha").get<float>(), s.data(), arithmetic);
    const KnownTensor& s_up = c.output("s");
    // llm-compressor's s is a float32 tensor holding values of the model's dtype: its tier counts ulps of
    // the dtype it was computed in.
    m.compare("s", rounded(floats(s.data(), C), s_up.dtype), s_up, statistic_tier(arithmetic, device_pow),
              s_up.dtype == DType::f32 ? arithmetic : s_up.dtype);
    // What upstream then does with its own s, applied by the kernels in the tensors' dtype.
    const std::vector<float> s_upstream = as_floats(s_up.values);
    for (std::size_t i = 0; i < fcs.size(); ++i) {
      HostTensor fc = fcs[i];
      b.scale_columns(fc.mut_matrix(), s_upstream.data());
      m.compare("fc" + std::to_string(i), fc.to_doubles(), c.output("fc" + std::to_string(i)));
    }
    if (ln) {
      HostTensor n = c.input("norm_weight").host();
      b.divide_vector(n.mut_vector(), s_upstream.data());
      m.compare("norm_weight", n.to_doubles(), c.output("norm_weight"));
    } else {
      // Packed QKV (rows a multiple of C, 2 or 3 times): only the last C rows, the V part, are divided.
      HostTensor prev = c.input("prev_weight").host();
      const int64_t skip = prev.rows() - C;
      kernels::MutMatrix v = prev.mut_matrix();
      v.data = static_cast<char*>(v.data) + std::size_t(skip * v.row_stride) * dtype_size(v.dtype);
      v.rows = C;
      b.divide_rows(v, s_upstream.data());
      m.compare("prev_weight", prev.to_doubles(), c.output("prev_weight"));
      if (c.inputs.count("prev_bias")) {
        HostTensor bias = c.input("prev_bias").host();
        kernels::MutVector vb = bias.mut_vector();
        vb.data = static_cast<char*>(vb.data) + std::size_t(skip) * dtype_size(vb.dtype);
        vb.size = C;
        b.divide_vector(vb, s_upstream.data());
        m.compare("prev_bias", bias.to_doubles(), c.output("prev_bias"));
      }
    }
  } else if (c.step == "quantize_weight") {
    const KnownTensor& w = c.input("weight");
    const HostTensor wt = w.host();
    HostTensor q(DType::i8, w.rows(), w.cols());
    std::vector<float> scale(std::size_t(w.rows()));
    b.quantize_weight(wt.matrix(), profile.weight, q.mut_matrix(), scale.data());
    m.compare("q", q.to_doubles(), c.output("q"));
    m.compare("scale", rounded(floats(scale.data(), w.rows()), c.output("scale").dtype), c.output("scale"));
  } else if (c.step == "quantize_per_token" || c.step == "rmsnorm_quantize") {
    const KnownTensor& x = c.input("x");
    const HostTensor xt = x.host();
    HostTensor q(DType::i8, x.rows(), x.cols());
    std::vector<float> scale(std::size_t(x.rows()));
    if (c.step == "quantize_per_token") {
      b.quantize_per_token(xt.matrix(), nullptr, profile.activation, q.mut_matrix(), scale.data());
    } else {
      const ActQuantOptions o = lmdeploy_fused_rmsnorm_act_quant();
      const HostTensor norm = c.input("norm_weight").host();
      b.rmsnorm_quantize(xt.matrix(), norm.const_vector(), c.params.at("eps").get<float>(), o, q.mut_matrix(),
                         scale.data());
    }
    m.compare("q", q.to_doubles(), c.output("q"));
    m.compare("scale", rounded(floats(scale.data(), x.rows()), c.output("scale").dtype), c.output("scale"));
  } else {
    ADD_FAILURE() << c.file << " case " << c.name << ": step '" << c.step << "' has no runner here";
  }
}

// Steps run_case runs; a case of another step is only allowed as a named divergence.
bool has_runner(const std::string& step) {
  for (const char* s : {"weight_stat", "smooth_ln_fcs", "smooth_fc_fcs", "quantize_weight", "quantize_per_token",
                        "rmsnorm_quantize"})
    if (step == s) return true;
  return false;
}

class UpstreamKnownAnswer : public ::testing::TestWithParam<Row> {};

TEST_P(UpstreamKnownAnswer, MatchesBitForBit) {
  const Row& row = GetParam();
  const KnownCase& c = *row.c;
  auto backend = make_backend(row.backend);
  std::string why;
  if (!backend->available(&why)) GTEST_SKIP() << row.backend << " is not available here: " << why;
  const Divergence* d = divergence_of(c.name);
  if (!has_runner(c.step)) {
    ASSERT_NE(d, nullptr) << c.file << " case " << c.name << ": step '" << c.step << "' has no runner here";
    GTEST_SKIP() << "known divergence (no step to run): " << d->reason;
  }
  Mismatches m;
  run_case(c, row.profile, *backend, row.backend == "cuda", m);
  const std::string what = c.file + " " + c.name + " (" + c.upstream + (c.port ? ", a port" : "") + ")";
  if (d) {
    EXPECT_GT(m.count, 0) << what << " now matches upstream: remove its divergence (" << d->reason << ")";
    if (m.count > 0) GTEST_SKIP() << "known divergence: " << d->reason << "\n" << m.count << " elements differ:\n" << m.text.str();
    return;
  }
  EXPECT_EQ(m.count, 0) << what << " on " << row.backend << ":\n" << m.text.str();
  if (m.worst_ulps > 0) std::printf("[ tier     ] %s: within %.2f ulp\n", c.name.c_str(), m.worst_ulps);
}

INSTANTIATE_TEST_SUITE_P(Engines, UpstreamKnownAnswer, ::testing::ValuesIn(all_rows()),
                         [](const ::testing::TestParamInfo<Row>& i) {
                           std::string n = i.param.c->name + "_" + i.param.backend;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// The comparison can fail, for the reason it exists: the same cases run with one choice of the
// profile changed (what a user who picked the wrong engine, or a kernel that ignores the profile, would
// get) must differ from upstream.
TEST(UpstreamKnownAnswerCanFail, CatchesEveryProfileChoiceMadeWrong) {
  struct Wrong {
    const char* file;
    const char* step;
    const char* what;
    std::function<void(EngineProfile&)> change;
  };
  const Wrong wrongs[] = {
      {"lmdeploy.json", "quantize_per_token", "per-token rounding half to even instead of away",
       [](EngineProfile& p) { p.activation.rounding = Rounding::half_even; }},
      {"lmdeploy.json", "quantize_weight", "compressed-tensors' weight quantiser for lmdeploy's",
       [](EngineProfile& p) { p.weight = WeightQuant::compressed_tensors; }},
      {"lmdeploy.json", "smooth_ln_fcs", "the authors' recipe for lmdeploy's",
       [](EngineProfile& p) { p.recipe = Recipe::smoothquant; }},
      {"lmdeploy.json", "weight_stat", "the authors' weight statistic for lmdeploy's",
       [](EngineProfile& p) { p.recipe = Recipe::smoothquant; }},
      {"compressed_tensors.json", "quantize_weight", "lmdeploy's absmax/127 for compressed-tensors' absmax/127.5",
       [](EngineProfile& p) { p.weight = WeightQuant::lmdeploy; }},
      {"llmcompressor.json", "smooth_ln_fcs", "lmdeploy's recipe for llm-compressor's",
       [](EngineProfile& p) { p.recipe = Recipe::lmdeploy; }},
      {"smoothquant_authors.json", "smooth_ln_fcs", "llm-compressor's recipe for the authors'",
       [](EngineProfile& p) { p.recipe = Recipe::llmcompressor; }},
      {"trtllm.json", "quantize_per_token", "lmdeploy's half-away rounding for TensorRT-LLM's half to even",
       [](EngineProfile& p) { p.activation.rounding = Rounding::half_away; }},
  };
  // The smoothing arithmetic is not among them: a float32 s rounded to the case's dtype for comparison
  // lies within these cases' s, and what it changes (the smoothed weights' roundings) is applied here
  // from upstream's own s. The whole-model comparison catches it (upstream_whole_model_cases.cpp).
  auto backend = make_backend("cpu");
  for (const Wrong& w : wrongs) {
    std::size_t i = 0;
    while (i < std::size(kFiles) && std::string(kFiles[i].file) != w.file) ++i;
    ASSERT_LT(i, std::size(kFiles)) << w.file;
    EngineProfile profile = kFiles[i].profile;
    w.change(profile);
    const KnownAnswerFile& k = known_files()[i];
    int cases = 0, caught = 0;
    for (const KnownCase& c : k.cases) {
      if (c.step != w.step || divergence_of(c.name)) continue;
      Mismatches m;
      run_case(c, profile, *backend, false, m);
      ++cases;
      caught += m.count > 0;
    }
    EXPECT_GT(cases, 0) << w.what;
    EXPECT_GT(caught, 0) << w.what << ": no " << w.step << " case of " << w.file << " tells it apart";
    std::printf("[ caught    ] %s: %d of %d %s cases differ\n", w.what, caught, cases, w.step);
  }
}

// The files carry what produced them; a file without versions cannot be reproduced.
TEST(UpstreamKnownAnswerFiles, NameThePackagesThatProducedThem) {
  for (const KnownAnswerFile& k : known_files()) {
    EXPECT_TRUE(k.packages.contains("torch")) << k.file;
    EXPECT_FALSE(k.cases.empty()) << k.file;
  }
}

}  // namespace
}  // namespace smoothcheck::known_answers
