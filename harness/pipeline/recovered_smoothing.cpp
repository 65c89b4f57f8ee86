#include "harness/pipeline/recovered_smoothing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "harness/pipeline/export_checks.h"
#include "reference/reference.h"

namespace smoothcheck::pipeline {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string recovered_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", v);
  return text;
}

// Half a quantisation step of row r, widened for the roundings between W·s and the code: W·s rounded to
// the stored dtype, the quotient by the scale rounded (both ≤ 127.5·u of a step each), and a third for
// the division by a row divisor (verify_rederivation.cpp's widening of the §8 bound, the same count).
double half_step(float scale, double u) { return static_cast<double>(scale) * (0.5 + 3 * 127.5 * u + 1e-6); }

struct Interval {
  double lo = 0, hi = kInf;  // s > 0
  bool empty() const { return lo > hi; }
  bool bounded() const { return hi < kInf; }
  bool holds(double x) const { return lo <= x && x <= hi; }
};

// Where s_j lies for column j of one fc, given its rows' divisors (nullptr: none).
Interval column_interval(const FloatMatrix& w, const StoredQuantizedLinear& q, int64_t j, const std::vector<double>* d,
                         double u) {
  Interval in;
  for (int64_t r = 0; r < w.rows; ++r) {
    const double a = static_cast<double>(w.data[static_cast<std::size_t>(r * w.cols + j)]) / (d ? (*d)[r] : 1.0);
    if (a == 0) continue;
    const double v = static_cast<double>(q.codes[static_cast<std::size_t>(r * q.cols + j)]) * q.scale[r];
    const double h = half_step(q.scale[r], u);
    double x1 = (v - h) / a, x2 = (v + h) / a;
    if (a < 0) std::swap(x1, x2);
    in.lo = std::max(in.lo, x1);
    in.hi = std::min(in.hi, x2);
  }
  return in;
}

// The values of the dtype the tool computed s in whose quotient orig / s rounds (to float32, then to the
// stored dtype, as the engines divide in place) to the stored norm: s is one of them. Near orig/stored.
std::vector<double> norm_consistent_scales(double orig, double stored, DType dtype) {
  const double estimate = orig / stored;
  const double c0 = reference::round_to_dtype(estimate, dtype);
  const double step = reference::ulp_of(c0, dtype);
  std::vector<double> out;
  for (double c : {c0 - 2 * step, c0 - step, c0, c0 + step, c0 + 2 * step}) {
    if (!(c > 0)) continue;
    if (reference::round_to_dtype(reference::round_to_dtype(orig / c, DType::f32), dtype) == stored) out.push_back(c);
  }
  return out;
}

// How many of column j's codes (of the fcs whose rows are not divided) s = c fails to reproduce with
// the stored row scales: W·c rounded to the dtype, over the scale in the quantiser's arithmetic
// (quotient_dtype), rounded half to even as every variant's torch.round does. Picks
// among the norm-consistent candidates, which differ by an ulp of the dtype (in bf16 about the
// quantiser's own resolution): the norm alone cannot tell them apart, the codes can.
int64_t code_misses(const std::vector<std::pair<const FloatMatrix*, const StoredQuantizedLinear*>>& fcs, int64_t j,
                    double c, DType dtype, DType quotient_dtype) {
  int64_t misses = 0;
  for (const auto& [w, q] : fcs)
    for (int64_t r = 0; r < w->rows; ++r) {
      const double v = reference::round_to_dtype(static_cast<double>(w->data[static_cast<std::size_t>(r * w->cols + j)]) * c, dtype);
      const double quotient = reference::round_to_dtype(v / q->scale[r], quotient_dtype);
      const double code = std::nearbyint(std::clamp(quotient, -128.0, 127.0));
      if (code != q->codes[static_cast<std::size_t>(r * q->cols + j)]) ++misses;
    }
  return misses;
}

std::string short_name(const std::string& full) {
  const auto layer = full.find("layers.");
  return layer == std::string::npos ? full : full.substr(layer);
}

}  // namespace

UnitRecovery recover_unit_smoothing(const FloatWeights& original,
                                    const std::map<std::string, StoredQuantizedLinear>& quantized,
                                    const std::map<std::string, std::vector<float>>& stored_norms,
                                    const std::vector<SmoothingGroup>& candidates, DType dtype,
                                    DType quotient_dtype, std::vector<std::string>& failures) {
  const double u = pipeline::unit_roundoff(dtype);
  UnitRecovery out;
  // fc -> the fc -> fc group dividing its rows, as a copy: out.groups grows below.
  std::map<std::string, RecoveredGroup> divides_rows_of;

  // fc -> fc groups first: the next fcs' columns carry s and nothing else.
  for (const SmoothingGroup& g : candidates) {
    if (g.kind != SourceKind::linear) continue;
    const int64_t C = original.linears.at(g.fcs.front()).cols;
    RecoveredGroup rg{g, false, "", std::vector<double>(C, 1.0), std::vector<double>(C, 0.0), std::vector<bool>(C, true), 0};
    std::vector<Interval> in(static_cast<std::size_t>(C));
    bool holds_one = true;
    for (int64_t j = 0; j < C; ++j) {
      for (const std::string& fc : g.fcs) {
        const Interval i = column_interval(original.linears.at(fc), quantized.at(fc), j, nullptr, u);
        in[j].lo = std::max(in[j].lo, i.lo);
        in[j].hi = std::min(in[j].hi, i.hi);
      }
      if (!in[j].holds(1.0)) holds_one = false;
    }
    if (holds_one) {
      rg.evidence = "not smoothed: every column of " + short_name(g.fcs.front()) + " is within half a step of W";
    } else {
      rg.smoothed = true;
      rg.evidence = "columns of " + short_name(g.fcs.front()) + " (to the quantiser's resolution)";
      for (int64_t j = 0; j < C; ++j) {
        rg.exact[j] = false;
        if (in[j].empty()) {
          failures.push_back("smoothing: " + g.source + " -> " + g.fcs.front() + " channel " + std::to_string(j) +
                             ": no single s explains the column (its rows bound s to [" + recovered_number(in[j].lo) + ", " +
                             recovered_number(in[j].hi) + "])");
          rg.uncertainty[j] = kInf;
        } else if (in[j].bounded()) {
          rg.s[j] = (in[j].lo + in[j].hi) / 2;
          rg.uncertainty[j] = (in[j].hi - in[j].lo) / 2 / rg.s[j];
        } else {
          rg.s[j] = std::max(in[j].lo, 1.0);  // a column of zeros: s leaves no trace
          rg.uncertainty[j] = kInf;
        }
      }
    }
    out.groups.push_back(rg);
  }
  for (const RecoveredGroup& rg : out.groups)
    if (rg.smoothed) divides_rows_of[rg.group.source] = rg;

  // Norm groups: the norm ratio, where the original norm is not 0; the fcs elsewhere.
  for (const SmoothingGroup& g : candidates) {
    if (g.kind != SourceKind::norm) continue;
    const std::vector<float>& orig = original.norms.at(g.source);
    const std::vector<float>& stored = stored_norms.at(g.source);
    const int64_t C = static_cast<int64_t>(orig.size());
    RecoveredGroup rg{g, false, "norm ratio (original / stored)", std::vector<double>(C, 1.0),
                      std::vector<double>(C, 0.0), std::vector<bool>(C, true), 0};
    std::vector<std::pair<const FloatMatrix*, const StoredQuantizedLinear*>> undivided;
    for (const std::string& fc : g.fcs)
      if (!divides_rows_of.count(fc)) undivided.push_back({&original.linears.at(fc), &quantized.at(fc)});
    for (int64_t j = 0; j < C; ++j) {
      const double o = orig[j], st = stored[j];
      if (o != 0 && st != 0 && std::isfinite(st) && (o > 0) == (st > 0)) {
        const std::vector<double> candidates = norm_consistent_scales(o, st, dtype);
        rg.s[j] = o / st;
        int64_t fewest = -1;
        for (double c : candidates) {
          const int64_t m = candidates.size() == 1 ? 0 : code_misses(undivided, j, c, dtype, quotient_dtype);
          if (fewest < 0 || m < fewest || (m == fewest && std::fabs(c - o / st) < std::fabs(rg.s[j] - o / st)))
            fewest = m, rg.s[j] = c;
        }
        rg.uncertainty[j] = 2 * u + 0x1.0p-24;
        if (std::fabs(rg.s[j] - 1) > rg.uncertainty[j]) rg.smoothed = true;
        continue;
      }
      if (o != 0 || st != 0) {
        failures.push_back("smoothing: " + g.source + ".weight[" + std::to_string(j) + "] is " + recovered_number(st) +
                           " where the original is " + recovered_number(o) + ": no positive s maps one to the other");
        rg.uncertainty[j] = kInf;
        rg.exact[j] = false;
        continue;
      }
      // Original and stored norm 0: the fcs whose rows are not divided say where s_j lies.
      Interval in;
      for (const std::string& fc : g.fcs) {
        if (divides_rows_of.count(fc)) continue;
        const Interval i = column_interval(original.linears.at(fc), quantized.at(fc), j, nullptr, u);
        in.lo = std::max(in.lo, i.lo);
        in.hi = std::min(in.hi, i.hi);
      }
      rg.exact[j] = false;
      if (in.bounded() && !in.empty()) {
        rg.s[j] = (in.lo + in.hi) / 2;
        rg.uncertainty[j] = (in.hi - in.lo) / 2 / rg.s[j];
      } else {
        rg.uncertainty[j] = kInf;
      }
    }
    out.groups.push_back(rg);
  }

  // Every fc held to its group's s (and its rows to the fc -> fc s that divides them).
  for (RecoveredGroup& rg : out.groups) {
    if (!rg.smoothed) continue;
    for (const std::string& fc : rg.group.fcs) {
      const FloatMatrix& w = original.linears.at(fc);
      const StoredQuantizedLinear& q = quantized.at(fc);
      const auto div = divides_rows_of.find(fc);
      const RecoveredGroup* rows = div == divides_rows_of.end() ? nullptr : &div->second;
      double worst = 0;
      int64_t wr = 0, wc = 0;
      for (int64_t r = 0; r < w.rows; ++r) {
        const double d = rows ? rows->s[r] : 1.0, du = rows ? rows->uncertainty[r] : 0.0;
        for (int64_t j = 0; j < w.cols; ++j) {
          if (!std::isfinite(rg.uncertainty[j]) || !std::isfinite(du)) continue;
          const double pred = static_cast<double>(w.data[static_cast<std::size_t>(r * w.cols + j)]) * rg.s[j] / d;
          const double got = static_cast<double>(q.codes[static_cast<std::size_t>(r * q.cols + j)]) * q.scale[r];
          const double allowance = half_step(q.scale[r], u) + std::fabs(pred) * (rg.uncertainty[j] + du + 4 * u);
          const double ratio = std::fabs(pred - got) / allowance;
          if (!(ratio <= worst)) worst = ratio, wr = r, wc = j;
        }
      }
      rg.worst_consistency = std::max(rg.worst_consistency, worst);
      if (!(worst <= 1.0)) {
        const Interval implied = column_interval(w, q, wc, nullptr, u);
        failures.push_back("smoothing: " + fc + " [" + std::to_string(wr) + ", " + std::to_string(wc) +
                           "] was not multiplied by its group's s: the group (" + rg.evidence + " of " +
                           rg.group.source + ") has s = " + recovered_number(rg.s[wc]) + (rows ? " and the row divisor " +
                           recovered_number(rows->s[wr]) : std::string()) + ", but the column's stored codes put s in [" +
                           recovered_number(implied.lo) + ", " + recovered_number(implied.hi) + "] (" + recovered_number(worst) +
                           " x the allowance)");
      }
    }
  }

  settle_linears(out, original);
  return out;
}

void settle_linears(UnitRecovery& out, const FloatWeights& original) {
  out.column_s.clear();
  out.row_divisor.clear();
  out.exact_linears.clear();
  for (const auto& [name, m] : original.linears) out.column_s[name] = std::vector<float>(m.cols, 1.0f);
  std::set<std::string> inexact;
  for (const RecoveredGroup& rg : out.groups) {
    const bool exact = !rg.smoothed || std::all_of(rg.exact.begin(), rg.exact.end(), [](bool e) { return e; });
    for (const std::string& fc : rg.group.fcs) {
      if (!exact) inexact.insert(fc);
      if (rg.smoothed)
        out.column_s[fc] = std::vector<float>(rg.s.begin(), rg.s.end());
    }
    if (rg.smoothed && rg.group.kind == SourceKind::linear) {
      out.row_divisor[rg.group.source] = std::vector<float>(rg.s.begin(), rg.s.end());
      if (!exact) inexact.insert(rg.group.source);
    }
  }
  for (const auto& [name, m] : original.linears)
    if (!inexact.count(name)) out.exact_linears.insert(name);
}

bool pin_to_recipe(RecoveredGroup& g, const std::vector<double>& recipe_s, const std::string& recipe) {
  for (std::size_t j = 0; j < g.s.size(); ++j) {
    if (!std::isfinite(g.uncertainty[j])) continue;  // a column of zeros: the codes say nothing
    if (!(std::fabs(recipe_s[j] - g.s[j]) <= g.s[j] * (g.uncertainty[j] + 1e-6))) return false;
  }
  g.s = recipe_s;
  g.exact.assign(g.s.size(), true);
  g.uncertainty.assign(g.s.size(), 16 * 0x1.0p-24);
  g.evidence += ", pinned to " + recipe + " (inside every column's interval)";
  return true;
}

}  // namespace smoothcheck::pipeline
