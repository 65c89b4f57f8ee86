#include "harness/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "harness/report/xml_text.h"

namespace smoothcheck::report {

namespace {

constexpr const char* kBarColour = "#2e86c1";
constexpr const char* kBadColour = "#c0392b";
constexpr const char* kBeforeColour = "#e67e22";

std::string fmt(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

// Long names keep their start (the kernel) and their end (the shape): "gemm_w8a8/bf16…K:4096".
std::string shortened(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  const std::size_t head = max / 2, tail = max - head - 1;
  return s.substr(0, head) + "…" + s.substr(s.size() - tail);
}

// An axis step of 1, 2, 2.5 or 5 times a power of ten giving about four intervals.
double nice_step(double high) {
  const double raw = high / 4, power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0})
    if (raw <= m * power) return m * power;
  return 10 * power;
}

std::string open_svg(int width, int height, const std::string& title) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"11\">"
    << "<text x=\"4\" y=\"14\" font-size=\"13\" font-weight=\"bold\">" << xml_escape(title) << "</text>";
  return s.str();
}

}  // namespace

std::string bar_chart_svg(const BarChart& chart) {
  const int label_width = 380, plot_width = 400, row = 16, top = 24, bottom = 34;
  const int height = top + row * int(std::max<std::size_t>(chart.bars.size(), 1)) + bottom;
  const int width = label_width + plot_width + 70;
  double high = chart.limit;
  for (const Bar& b : chart.bars)
    if (std::isfinite(b.value)) high = std::max(high, b.value);
  high = high > 0 ? high * 1.05 : 1.0;
  auto x_of = [&](double v) { return label_width + plot_width * std::clamp(v, 0.0, high) / high; };

  std::ostringstream s;
  s << open_svg(width, height, chart.title);
  for (std::size_t i = 0; i < chart.bars.size(); ++i) {
    const Bar& b = chart.bars[i];
    const double y = top + row * double(i);
    const bool bad = (chart.limit > 0 && b.value > chart.limit) || !std::isfinite(b.value);
    const double w = std::isfinite(b.value) ? x_of(b.value) - label_width : plot_width;
    s << "<text x=\"" << label_width - 6 << "\" y=\"" << y + 12 << "\" text-anchor=\"end\">"
      << xml_escape(shortened(b.label, 62)) << "</text>"
      << "<rect x=\"" << label_width << "\" y=\"" << y + 2 << "\" width=\"" << fmt(std::max(w, 0.5)) << "\" height=\""
      << row - 4 << "\" fill=\"" << (bad ? kBadColour : kBarColour) << "\"><title>"
      << xml_escape(b.label + ": " + fmt(b.value) + (b.tooltip.empty() ? "" : " (" + b.tooltip + ")")) << "</title></rect>"
      << "<text x=\"" << fmt(label_width + std::max(w, 0.5) + 4) << "\" y=\"" << y + 12 << "\">" << fmt(b.value) << "</text>";
  }
  const double axis_y = top + row * double(chart.bars.size()) + 4;
  s << "<line x1=\"" << label_width << "\" y1=\"" << axis_y << "\" x2=\"" << label_width + plot_width << "\" y2=\""
    << axis_y << "\" stroke=\"#555\"/>";
  const double step = nice_step(high);
  for (double v = 0; v <= high * (1 + 1e-9); v += step) {
    s << "<text x=\"" << fmt(x_of(v)) << "\" y=\"" << axis_y + 13 << "\" text-anchor=\"middle\">" << fmt(v) << "</text>";
  }
  s << "<text x=\"" << label_width + plot_width / 2 << "\" y=\"" << axis_y + 27 << "\" text-anchor=\"middle\">"
    << xml_escape(chart.value_label) << "</text>";
  if (chart.limit > 0)
    s << "<line x1=\"" << fmt(x_of(chart.limit)) << "\" y1=\"" << top << "\" x2=\"" << fmt(x_of(chart.limit)) << "\" y2=\""
      << axis_y << "\" stroke=\"" << kBadColour << "\" stroke-dasharray=\"4 3\"><title>" << xml_escape(chart.limit_label)
      << "</title></line>";
  s << "</svg>";
  return s.str();
}

std::string histogram_svg(const Histogram& h) {
  const int left = 44, top = 36, plot_height = 120, bottom = 44, bin_width = 40;
  const int width = left + bin_width * int(std::max<std::size_t>(h.bins.size(), 1)) + 16;
  const int height = top + plot_height + bottom;
  double high = 0;
  for (double c : h.counts) high = std::max(high, c);
  high = high > 0 ? high : 1;
  std::ostringstream s;
  s << open_svg(std::max(width, 260), height, h.title);
  for (std::size_t i = 0; i < h.bins.size(); ++i) {
    const double bar = plot_height * h.counts[i] / high;
    const double x = left + bin_width * double(i);
    s << "<rect x=\"" << x + 3 << "\" y=\"" << fmt(top + plot_height - bar) << "\" width=\"" << bin_width - 6
      << "\" height=\"" << fmt(std::max(bar, h.counts[i] > 0 ? 1.0 : 0.0)) << "\" fill=\"" << kBarColour << "\"><title>"
      << xml_escape(h.bins[i] + ": " + fmt(h.counts[i])) << "</title></rect>"
      << "<text x=\"" << x + bin_width / 2 << "\" y=\"" << fmt(top + plot_height - bar - 3)
      << "\" text-anchor=\"middle\" font-size=\"9\">" << fmt(h.counts[i]) << "</text>"
      << "<text x=\"" << x + bin_width / 2 << "\" y=\"" << top + plot_height + 13 << "\" text-anchor=\"middle\">"
      << xml_escape(h.bins[i]) << "</text>";
  }
  s << "<line x1=\"" << left << "\" y1=\"" << top + plot_height << "\" x2=\"" << width - 12 << "\" y2=\""
    << top + plot_height << "\" stroke=\"#555\"/>"
    << "<text x=\"" << left << "\" y=\"" << top + plot_height + 30 << "\">" << xml_escape(h.x_label) << "</text>"
    << "<text x=\"10\" y=\"" << top + plot_height / 2 << "\" transform=\"rotate(-90 10 " << top + plot_height / 2
    << ")\" text-anchor=\"middle\">" << xml_escape(h.y_label) << "</text></svg>";
  return s.str();
}

std::string channel_profile_svg(const ChannelProfile& p) {
  const int left = 56, top = 24, plot_width = 680, plot_height = 200, bottom = 40;
  const std::size_t channels = std::max(p.before.size(), p.after.size());
  double low = INFINITY, high = 0;
  for (const auto* v : {&p.before, &p.after})
    for (double x : *v)
      if (x > 0 && std::isfinite(x)) { low = std::min(low, x); high = std::max(high, x); }
  if (!(high > 0)) { low = 1; high = 10; }
  const double log_low = std::floor(std::log10(low)), log_high = std::max(std::ceil(std::log10(high)), log_low + 1);
  auto x_of = [&](std::size_t c) { return left + plot_width * (channels > 1 ? double(c) / double(channels - 1) : 0.5); };
  auto y_of = [&](double v) {
    const double l = std::log10(std::max(v, std::pow(10.0, log_low)));
    return top + plot_height * (1 - (l - log_low) / (log_high - log_low));
  };
  auto polyline = [&](const std::vector<double>& v, const char* colour, const char* name) {
    std::ostringstream s;
    s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1\" points=\"";
    for (std::size_t c = 0; c < v.size(); ++c) s << fmt(x_of(c)) << "," << fmt(y_of(v[c])) << " ";
    s << "\"><title>" << name << "</title></polyline>";
    return s.str();
  };
  std::ostringstream s;
  s << open_svg(left + plot_width + 20, top + plot_height + bottom, p.title);
  for (double e = log_low; e <= log_high; e += 1)
    s << "<line x1=\"" << left << "\" y1=\"" << fmt(y_of(std::pow(10.0, e))) << "\" x2=\"" << left + plot_width
      << "\" y2=\"" << fmt(y_of(std::pow(10.0, e))) << "\" stroke=\"#ddd\"/><text x=\"" << left - 4 << "\" y=\""
      << fmt(y_of(std::pow(10.0, e)) + 4) << "\" text-anchor=\"end\">1e" << int(e) << "</text>";
  s << polyline(p.before, kBeforeColour, "before smoothing") << polyline(p.after, kBarColour, "after smoothing");
  for (std::size_t c : p.outliers)
    if (c < p.before.size())
      s << "<circle cx=\"" << fmt(x_of(c)) << "\" cy=\"" << fmt(y_of(p.before[c])) << "\" r=\"3\" fill=\"" << kBadColour
        << "\"><title>outlier channel " << c << ": " << fmt(p.before[c]) << " before, "
        << (c < p.after.size() ? fmt(p.after[c]) : std::string("?")) << " after</title></circle>";
  const int legend_y = top + plot_height + 28;
  s << "<text x=\"" << left << "\" y=\"" << top + plot_height + 14 << "\">channel 0 .. " << (channels ? channels - 1 : 0)
    << "</text><rect x=\"" << left + 200 << "\" y=\"" << legend_y - 9 << "\" width=\"12\" height=\"3\" fill=\""
    << kBeforeColour << "\"/><text x=\"" << left + 216 << "\" y=\"" << legend_y << "\">absmax before smoothing</text>"
    << "<rect x=\"" << left + 380 << "\" y=\"" << legend_y - 9 << "\" width=\"12\" height=\"3\" fill=\"" << kBarColour
    << "\"/><text x=\"" << left + 396 << "\" y=\"" << legend_y << "\">after (÷ s)</text><circle cx=\"" << left + 500
    << "\" cy=\"" << legend_y - 4 << "\" r=\"3\" fill=\"" << kBadColour << "\"/><text x=\"" << left + 508 << "\" y=\""
    << legend_y << "\">outlier channel</text></svg>";
  return s.str();
}

std::string heat_map_svg(const HeatMap& m) {
  const int label_width = 330, cell_w = 30, cell_h = 16, top = 40, bottom = 24;
  const int width = label_width + cell_w * int(std::max<std::size_t>(m.columns.size(), 1)) + 20;
  const int height = top + cell_h * int(std::max<std::size_t>(m.rows.size(), 1)) + bottom;
  std::ostringstream s;
  s << open_svg(width, height, m.title);
  for (std::size_t c = 0; c < m.columns.size(); ++c)
    s << "<text x=\"" << label_width + cell_w * int(c) + cell_w / 2 << "\" y=\"" << top - 6
      << "\" text-anchor=\"middle\" font-size=\"9\">" << xml_escape(m.columns[c]) << "</text>";
  for (std::size_t r = 0; r < m.rows.size() && r < m.values.size(); ++r) {
    const std::vector<double>& v = m.values[r];
    double low = INFINITY, high = -INFINITY;
    for (double x : v)
      if (std::isfinite(x)) low = std::min(low, x), high = std::max(high, x);
    const int y = top + cell_h * int(r);
    s << "<text x=\"" << label_width - 6 << "\" y=\"" << y + cell_h - 4 << "\" text-anchor=\"end\">"
      << xml_escape(shortened(m.rows[r], 52)) << "</text>";
    for (std::size_t c = 0; c < v.size(); ++c) {
      const double t = std::isfinite(v[c]) && high > low ? (v[c] - low) / (high - low) : 1.0;
      const int shade = int(235 - 190 * t);  // light (the row's lowest) to dark blue (its highest)
      const bool mark = r < m.marked.size() && m.marked[r] == int(c);
      s << "<rect x=\"" << label_width + cell_w * int(c) << "\" y=\"" << y << "\" width=\"" << cell_w << "\" height=\""
        << cell_h << "\" fill=\"rgb(" << shade << "," << shade + 10 << ",250)\""
        << (mark ? " stroke=\"#c0392b\" stroke-width=\"2\"" : "") << "><title>" << xml_escape(m.rows[r]) << ", "
        << xml_escape(m.columns[c]) << ": " << xml_escape(m.value_label) << " " << fmt(v[c]) << (mark ? " (chosen)" : "")
        << "</title></rect>";
    }
  }
  s << "<text x=\"" << label_width << "\" y=\"" << height - 6 << "\">per row: light = the row's lowest "
    << xml_escape(m.value_label) << ", dark = its highest; outlined: the chosen column</text></svg>";
  return s.str();
}

}  // namespace smoothcheck::report
