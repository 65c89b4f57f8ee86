#include "harness/differential/compare.h"

#include <cmath>
#include <sstream>

#include "reference/reference.h"

namespace smoothcheck {

namespace {

std::string location(std::size_t index, int64_t cols) {
  if (cols <= 0) return "[" + std::to_string(index) + "]";
  return "[" + std::to_string(int64_t(index) / cols) + ", " + std::to_string(int64_t(index) % cols) + "]";
}

std::string number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace

double unit_roundoff(DType dtype) {
  switch (dtype) {
    case DType::f64: return std::ldexp(1.0, -53);
    case DType::f32: return std::ldexp(1.0, -24);
    case DType::f16: return std::ldexp(1.0, -11);
    case DType::bf16: return std::ldexp(1.0, -8);
    default: return 0.0;  // integers: exact
  }
}

bool check_guards(CaseResult& r, const std::string& tensor, const HostTensor& t) {
  std::string where;
  if (t.guards_intact(&where)) return true;
  r.fail("guard", tensor + " written out of bounds at " + where);
  return false;
}

bool check_unmodified(CaseResult& r, const std::string& tensor, uint64_t checksum_before, const HostTensor& t) {
  if (t.checksum() == checksum_before) return true;
  r.fail("input", tensor + " was modified by the kernel");
  return false;
}

bool check_not_all_zero(CaseResult& r, const std::string& tensor, const std::vector<double>& values) {
  for (double v : values)
    if (v != 0.0) return true;
  if (values.empty()) return true;
  r.fail("nonzero", tensor + " is all zero");
  return false;
}

bool check_finite_pattern(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                          const std::vector<double>& expected) {
  for (std::size_t i = 0; i < actual.size(); ++i) {
    bool a_nan = std::isnan(actual[i]), e_nan = std::isnan(expected[i]);
    bool a_inf = std::isinf(actual[i]), e_inf = std::isinf(expected[i]);
    if (a_nan != e_nan || a_inf != e_inf || (a_inf && (actual[i] > 0) != (expected[i] > 0))) {
      r.fail("nonfinite", tensor + "[" + std::to_string(i) + "] is " + number(actual[i]) + ", expected " +
                              number(expected[i]));
      return false;
    }
  }
  return true;
}

bool compare_exact(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                   const std::vector<double>& expected, int64_t cols) {
  if (actual.size() != expected.size()) {
    r.fail("exact", tensor + " has " + std::to_string(actual.size()) + " elements, expected " +
                        std::to_string(expected.size()));
    return false;
  }
  int64_t mismatches = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    bool same = actual[i] == expected[i] || (std::isnan(actual[i]) && std::isnan(expected[i]));
    if (!same && mismatches++ == 0) first = i;
  }
  r.metric(tensor + "/mismatches", double(mismatches));
  if (mismatches == 0) return true;
  r.fail("exact", tensor + ": " + std::to_string(mismatches) + " of " + std::to_string(actual.size()) +
                      " differ; first at " + location(first, cols) + ": " + number(actual[first]) + " vs " +
                      number(expected[first]));
  return false;
}

bool compare_within_bound(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                          const std::vector<double>& expected, int64_t cols,
                          const std::function<double(std::size_t)>& bound) {
  if (!check_finite_pattern(r, tensor, actual, expected)) return false;
  double worst_fraction = 0.0, max_err = 0.0;
  int64_t violations = 0;
  std::size_t first = 0;
  double first_bound = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!std::isfinite(expected[i])) continue;
    double err = std::fabs(actual[i] - expected[i]);
    double b = bound(i);
    max_err = std::max(max_err, err);
    if (b > 0) worst_fraction = std::max(worst_fraction, err / b);
    else if (err > 0) worst_fraction = INFINITY;
    if (!(err <= b) && violations++ == 0) { first = i; first_bound = b; }
  }
  r.metric(tensor + "/max_abs_err", max_err);
  r.metric(tensor + "/max_err_over_bound", worst_fraction);
  if (violations == 0) return true;
  r.fail("bound", tensor + ": " + std::to_string(violations) + " elements outside the bound; first at " +
                      location(first, cols) + ": " + number(actual[first]) + " vs " + number(expected[first]) +
                      " (|err| " + number(std::fabs(actual[first] - expected[first])) + " > bound " +
                      number(first_bound) + ")");
  return false;
}

bool compare_rounded(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                     const std::vector<double>& expected_rounded, const std::vector<double>& exact, int64_t cols,
                     DType dtype, double rel) {
  if (!check_finite_pattern(r, tensor, actual, expected_rounded)) return false;
  int64_t neighbours = 0, wrong = 0;
  std::size_t first_wrong = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] == expected_rounded[i] || (std::isnan(actual[i]) && std::isnan(expected_rounded[i]))) continue;
    double low = reference::round_to_dtype(exact[i] * (1 - rel), dtype);
    double high = reference::round_to_dtype(exact[i] * (1 + rel), dtype);
    if (actual[i] == low || actual[i] == high) ++neighbours;
    else if (wrong++ == 0) first_wrong = i;
  }
  r.metric(tensor + "/double_rounding_neighbours", double(neighbours));
  r.metric(tensor + "/wrong", double(wrong));
  if (neighbours) r.notes.push_back(tensor + ": " + std::to_string(neighbours) + " values on the other side of a " + to_string(dtype) + " rounding boundary (double rounding through f32)");
  if (wrong == 0) return true;
  r.fail("rounded", tensor + ": " + std::to_string(wrong) + " of " + std::to_string(actual.size()) +
                        " values wrong; first at " + location(first_wrong, cols) + ": " + number(actual[first_wrong]) +
                        " vs " + number(expected_rounded[first_wrong]) + " (exact " + number(exact[first_wrong]) + ")");
  return false;
}

bool compare_rounded_at_boundaries(CaseResult& r, const std::string& tensor, const std::vector<double>& actual,
                                   const std::vector<double>& expected_rounded, const std::vector<double>& low,
                                   const std::vector<double>& high, int64_t cols, DType dtype) {
  if (!check_finite_pattern(r, tensor, actual, expected_rounded)) return false;
  int64_t neighbours = 0, wrong = 0;
  std::size_t first_wrong = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] == expected_rounded[i] || (std::isnan(actual[i]) && std::isnan(expected_rounded[i]))) continue;
    // Only a boundary the error interval crosses lets low or high differ from the expected value.
    if ((actual[i] == low[i] && low[i] != expected_rounded[i]) || (actual[i] == high[i] && high[i] != expected_rounded[i]))
      ++neighbours;
    else if (wrong++ == 0)
      first_wrong = i;
  }
  r.metric(tensor + "/double_rounding_boundaries", double(neighbours));
  r.metric(tensor + "/wrong", double(wrong));
  if (neighbours)
    r.notes.push_back(tensor + ": " + std::to_string(neighbours) + " values on the other side of a " + to_string(dtype) +
                      " rounding boundary within the f32 error (double rounding)");
  if (wrong == 0) return true;
  r.fail("rounded", tensor + ": " + std::to_string(wrong) + " of " + std::to_string(actual.size()) +
                        " values differ from the correctly rounded value; first at " + location(first_wrong, cols) +
                        ": " + number(actual[first_wrong]) + " vs " + number(expected_rounded[first_wrong]) +
                        " (boundary alternatives " + number(low[first_wrong]) + ", " + number(high[first_wrong]) + ")");
  return false;
}

double nmse(const std::vector<double>& actual, const std::vector<double>& expected) {
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    num += (actual[i] - expected[i]) * (actual[i] - expected[i]);
    den += expected[i] * expected[i];
  }
  return den > 0 ? num / den : (num > 0 ? INFINITY : 0.0);
}

double code_of(double v, const CodeRule& rule) {
  if (rule.clamp_before_round) v = std::fmin(std::fmax(v, -128.0), 127.0);
  double rounded = rule.rounding == Rounding::half_even ? std::nearbyint(v) : std::round(v);
  if (rule.clamp == Clamp::saturate) return std::fmin(std::fmax(rounded, -128.0), 127.0);
  if (!(rounded >= -2147483648.0 && rounded < 2147483648.0)) return 0.0;  // kernels/numerics.h: INT32_MIN's low byte
  return double(int8_t(uint8_t(uint32_t(int32_t(rounded)) & 0xffu)));
}

CodeRule weight_code_rule(WeightQuant variant) {
  return CodeRule{Rounding::half_even, Clamp::saturate,
                  variant == WeightQuant::compressed_tensors};
}

bool compare_codes(CaseResult& r, const std::string& tensor, const std::vector<double>& actual_codes,
                   const std::vector<double>& expected_codes, const std::vector<double>& scaled, int64_t cols,
                   const CodeRule& rule, const std::function<double(std::size_t)>& eps) {
  int64_t off_by_one = 0, wrong = 0;
  std::size_t first_wrong = 0;
  std::vector<std::string> off_locations;
  for (std::size_t i = 0; i < actual_codes.size(); ++i) {
    double a = actual_codes[i], e = expected_codes[i];
    if (a == e) continue;
    double tolerance = eps(i);
    bool allowed = tolerance > 0 && (a == code_of(scaled[i] - tolerance, rule) || a == code_of(scaled[i] + tolerance, rule));
    if (allowed) {
      ++off_by_one;
      if (off_locations.size() < 8)
        off_locations.push_back(location(i, cols) + " v=" + number(scaled[i]) + " got " + number(a) + " ref " + number(e));
    } else if (wrong++ == 0) {
      first_wrong = i;
    }
  }
  r.metric(tensor + "/off_by_one", double(off_by_one));
  r.metric(tensor + "/wrong", double(wrong));
  if (off_by_one > 0) {
    std::string note = tensor + ": " + std::to_string(off_by_one) + " off-by-one codes at rounding midpoints:";
    for (const std::string& l : off_locations) note += " " + l + ";";
    r.notes.push_back(note);
  }
  if (wrong == 0) return true;
  r.fail("codes", tensor + ": " + std::to_string(wrong) + " of " + std::to_string(actual_codes.size()) +
                      " codes wrong; first at " + location(first_wrong, cols) + ": got " +
                      number(actual_codes[first_wrong]) + ", reference " + number(expected_codes[first_wrong]) +
                      " (unrounded " + number(scaled[first_wrong]) + ", allowed slack " +
                      number(eps(first_wrong)) + ")");
  return false;
}

}  // namespace smoothcheck
