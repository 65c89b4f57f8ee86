#include "harness/report/junit_xml.h"

#include <map>
#include <sstream>

#include "harness/report/xml_text.h"

namespace smoothcheck::report {

namespace {

struct SuiteCounts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  void add(const CaseEntry& c) {
    ++tests;
    if (c.outcome == "incorrect") ++failures;
    else if (c.outcome == "kernel_error") ++errors;
    else if (c.outcome != "passed") ++skipped;
  }
  std::string attributes() const {
    return "tests=\"" + std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
           std::to_string(errors) + "\" skipped=\"" + std::to_string(skipped) + "\"";
  }
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// JUnit's classname is dotted; readers group by it.
std::string classname(const std::string& suite) {
  std::string out = suite;
  for (char& ch : out)
    if (ch == '/') ch = '.';
  return out;
}

}  // namespace

std::string junit_xml(const std::vector<ResultsDocument>& docs) {
  std::map<std::string, std::vector<const CaseEntry*>> suites;
  SuiteCounts all;
  for (const ResultsDocument& d : docs)
    for (const CaseEntry& c : d.cases) {
      suites[c.suite].push_back(&c);
      all.add(c);
    }
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites name=\"smoothcheck\" " << all.attributes() << ">\n";
  for (const auto& [suite, cases] : suites) {
    SuiteCounts counts;
    for (const CaseEntry* c : cases) counts.add(*c);
    x << "  <testsuite name=\"" << xml_escape(suite) << "\" " << counts.attributes() << ">\n";
    for (const CaseEntry* c : cases) {
      x << "    <testcase classname=\"" << xml_escape(classname(suite)) << "\" name=\"" << xml_escape(c->name) << "\"";
      if (c->outcome == "passed") { x << "/>\n"; continue; }
      x << ">\n";
      if (c->outcome == "incorrect") {
        const std::string first = c->failures.empty() ? "incorrect" : c->failures.front();
        x << "      <failure message=\"" << xml_escape(first) << "\" type=\"incorrect\">" << xml_escape(joined(c->failures))
          << "</failure>\n";
      } else if (c->outcome == "kernel_error") {
        x << "      <error message=\"" << xml_escape(c->reason) << "\" type=\"kernel_error\">"
          << xml_escape(c->reason + "\n" + joined(c->failures)) << "</error>\n";
      } else {
        x << "      <skipped message=\"" << xml_escape(c->outcome + ": " + c->reason) << "\"/>\n";
      }
      x << "    </testcase>\n";
    }
    x << "  </testsuite>\n";
  }
  x << "</testsuites>\n";
  return x.str();
}

}  // namespace smoothcheck::report
