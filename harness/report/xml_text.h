// Text placed inside XML, HTML or SVG: the five special characters escaped, and the control
// characters XML 1.0 cannot carry (a failure message may quote any byte) replaced by '?'.
#pragma once

#include <string>

namespace smoothcheck::report {

inline std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') ? '?' : char(ch);
    }
  }
  return out;
}

}  // namespace smoothcheck::report
