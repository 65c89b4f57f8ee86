// summary.md: short enough for a CI job summary (GitHub's $GITHUB_STEP_SUMMARY): the verdict line,
// every regression first (capped, with the count of the rest), then totals per results document,
// then improvements and other changes (capped).
#pragma once

#include <string>
#include <vector>

#include "harness/report/regression_rules.h"
#include "harness/report/results_document.h"

namespace smoothcheck::report {

std::string summary_markdown(const std::vector<ResultsDocument>& docs, const BaselineComparison& comparison,
                             const RegressionRules& rules);

}  // namespace smoothcheck::report
