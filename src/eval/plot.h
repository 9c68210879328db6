// SvgPlot: a quality-cost chart (accuracy against % strong-model calls) as a standalone SVG file.
#pragma once

#include <string>
#include <vector>

#include "eval/metrics.h"

namespace tandem::eval {

struct Series {
  std::string name;
  std::vector<CurvePoint> points;
};

// Lines for each series (sorted by share), dashed horizontal lines for the weak and strong accuracy.
std::string SvgPlot(const std::string& title, const std::vector<Series>& series, double weak_acc,
                    double strong_acc);

}  // namespace tandem::eval
