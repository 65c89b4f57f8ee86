// The cases of a set of results documents as JUnit XML (the Ant/Jenkins schema that GitHub, GitLab
// and Jenkins read): one <testsuite> per suite (run/<family>/<backend>, verify/<model>, bench), a
// <testcase> per case; incorrect -> <failure>, kernel_error -> <error>, waived and not_verified ->
// <skipped> with the reason (never counted as passed).
#pragma once

#include <string>
#include <vector>

#include "harness/report/results_document.h"

namespace smoothcheck::report {

std::string junit_xml(const std::vector<ResultsDocument>& docs);

}  // namespace smoothcheck::report
