#include "eval/plot.h"

#include <algorithm>
#include <cstdio>

namespace tandem::eval {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string SvgPlot(const std::string& title, const std::vector<Series>& series, double weak_acc,
                    double strong_acc) {
  const double w = 720, h = 440, left = 60, right = 200, top = 40, bottom = 50;
  double lo = std::min(weak_acc, strong_acc), hi = std::max(weak_acc, strong_acc);
  for (const auto& s : series) {
    for (const auto& p : s.points) {
      lo = std::min(lo, p.accuracy);
      hi = std::max(hi, p.accuracy);
    }
  }
  lo = std::max(0.0, lo - 2);
  hi = std::min(100.0, hi + 2);
  auto X = [&](double pct) { return left + (w - left - right) * pct / 100; };
  auto Y = [&](double acc) { return h - bottom - (h - top - bottom) * (acc - lo) / std::max(hi - lo, 1e-9); };
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
  std::string out;
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      w, h);
  out += buf;
  out += "<text x=\"" + std::to_string(static_cast<int>(left)) + "\" y=\"24\" font-size=\"15\">" +
         Escape(title) + "</text>\n";
  for (int pct = 0; pct <= 100; pct += 20) {  // x axis
    std::snprintf(
        buf, sizeof buf,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"middle\">%d%%</text>\n",
        X(pct), top, X(pct), h - bottom, X(pct), h - bottom + 16, pct);
    out += buf;
  }
  for (int i = 0; i <= 4; ++i) {  // y axis
    double acc = lo + (hi - lo) * i / 4;
    std::snprintf(
        buf, sizeof buf,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"end\">%.1f</text>\n",
        left, Y(acc), w - right, Y(acc), left - 6, Y(acc) + 4, acc);
    out += buf;
  }
  std::snprintf(
      buf, sizeof buf,
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">strong-model calls</text>\n<text x=\"14\" "
      "y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">accuracy (%%)</text>\n",
      (left + w - right) / 2, h - 12, (top + h - bottom) / 2, (top + h - bottom) / 2);
  out += buf;
  auto hline = [&](double acc, const char* color, const std::string& label, int row) {
    std::snprintf(
        buf, sizeof buf,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"5,4\"/>\n",
        left, Y(acc), w - right, Y(acc), color);
    out += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%d\" fill=\"%s\">", w - right + 12, 60 + 18 * row,
                  color);
    out += buf;
    out += Escape(label) + "</text>\n";
  };
  int row = 0;
  std::snprintf(buf, sizeof buf, "weak %.2f", weak_acc);
  hline(weak_acc, "#777", buf, row++);
  std::snprintf(buf, sizeof buf, "strong %.2f", strong_acc);
  hline(strong_acc, "#c00", buf, row++);
  for (size_t i = 0; i < series.size(); ++i) {
    std::vector<CurvePoint> pts = series[i].points;
    std::stable_sort(pts.begin(), pts.end(),
                     [](const auto& a, const auto& b) { return a.strong_pct < b.strong_pct; });
    const char* color = kColors[i % 6];
    std::string path;
    for (const auto& p : pts) {
      std::snprintf(buf, sizeof buf, "%s%.1f,%.1f", path.empty() ? "" : " ", X(p.strong_pct), Y(p.accuracy));
      path += buf;
    }
    out += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2\" points=\"" +
           path + "\"/>\n";
    for (const auto& p : pts) {
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                    X(p.strong_pct), Y(p.accuracy), color);
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%d\" fill=\"%s\">", w - right + 12, 60 + 18 * row++,
                  color);
    out += buf;
    out += Escape(series[i].name) + "</text>\n";
  }
  out += "</svg>\n";
  return out;
}

}  // namespace tandem::eval
