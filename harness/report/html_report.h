// index.html: one self-contained file (inline CSS and SVG, no network, no external script) with
//   - the regressions against the baseline and the totals of every results document;
//   - per real checkpoint (verify documents): each linear's max weight error as a fraction of its
//     bound (numerics.md §8), the bound drawn at 1;
//   - the activation absmax profile per channel before and after smoothing, outlier channels marked;
//   - per kernel (run documents: family x backend): the histogram of off-by-one int8 codes per case
//     (compare.h counts every code that differs by one at a rounding midpoint);
//   - benchmark results as fractions of their measured ceilings (the frac_* counters), ceiling at 1.
// A few lines of inline script do one thing: a script error anywhere is written into the page (and
// the console), so the Chromium render test and a reader both see it.
#pragma once

#include <string>
#include <vector>

#include "harness/report/regression_rules.h"
#include "harness/report/results_document.h"

namespace smoothcheck::report {

std::string html_report(const std::vector<ResultsDocument>& docs, const BaselineComparison& comparison,
                        const RegressionRules& rules);

}  // namespace smoothcheck::report
