// Inline SVG charts for index.html, drawn as text so the page needs no script and no network: a
// horizontal bar chart against a limit (error / bound, fraction of a ceiling), a histogram, and a
// per-channel profile on a log axis (activation absmax before and after smoothing).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace smoothcheck::report {

struct Bar {
  std::string label;
  double value = 0;
  std::string tooltip;  // shown on hover (an SVG <title>)
};

struct BarChart {
  std::string title;
  std::string value_label;  // the axis, e.g. "max |error| / bound"
  std::vector<Bar> bars;
  double limit = 0;         // drawn as a dashed line; bars beyond it are drawn in red (0: none)
  std::string limit_label;
};
std::string bar_chart_svg(const BarChart& chart);

struct Histogram {
  std::string title;
  std::string x_label, y_label;
  std::vector<std::string> bins;
  std::vector<double> counts;
};
std::string histogram_svg(const Histogram& h);

struct ChannelProfile {
  std::string title;
  std::vector<double> before, after;  // one value per channel, >= 0
  std::vector<std::size_t> outliers;  // channels marked on the `before` line
};
std::string channel_profile_svg(const ChannelProfile& p);

// A grid of values (rows × columns) coloured from the row's lowest (light) to its highest (dark), with
// one cell per row outlined (`marked`, a column index; -1: none): the sweep's SQNR per group and α, the
// chosen α outlined. Colour runs per row, since groups differ by several dB and the choice is per row.
struct HeatMap {
  std::string title;
  std::string value_label;  // "SQNR (dB)", shown in each cell's tooltip
  std::vector<std::string> rows, columns;
  std::vector<std::vector<double>> values;  // [row][column]
  std::vector<int> marked;
};
std::string heat_map_svg(const HeatMap& m);

}  // namespace smoothcheck::report
