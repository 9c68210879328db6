// MultiEval: offline evaluation of routing among K models by a quality-cost trade-off (RouterBench style).
//
// Sweeps the trade-off lambda of route/multi_router (and per-request budgets), replays each prompt to the
// model chosen, and reports the resulting (mean cost, mean quality) points beside every single model and the
// oracle (the cheapest model that answers well). The summary figure is RouterBench's AIQ: the area under the
// non-decreasing convex hull of a router's points over the cost range of the single models, divided by that
// range; the "zero router" (random mixtures of single models: their hull) is the baseline. Pure; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eval/dataset.h"
#include "route/multi_router.h"

namespace tandem::eval {

struct CostQuality {
  double cost = 0;     // mean USD per prompt
  double quality = 0;  // mean quality, 0..100
};

struct MultiPoint {
  std::string label;  // "lambda=0.3" or "budget=$0.0004"
  CostQuality at;
  std::vector<double> share;  // share of prompts per model
};

struct MultiResult {
  std::vector<CostQuality> models;  // each single model
  CostQuality oracle;
  std::vector<MultiPoint> curve;    // the router, over the lambda sweep
  std::vector<MultiPoint> budgets;  // the router under per-request budgets
  double aiq = 0, aiq_zero = 0;     // router / zero router, 0..100
  // Against the best single model (highest quality): the router's cheapest point at least as good, if any.
  int best_model = 0;
  double cost_to_match_best = -1;  // mean USD per prompt, -1 = never matched
};

MultiResult EvalMulti(const MultiDataset& d, const MultiRouter& router);
std::string FormatMulti(const MultiDataset& d, const MultiResult& r);
std::pair<MultiDataset, MultiDataset> SplitMulti(const MultiDataset& d, double train_fraction, unsigned seed);
// Area under the non-decreasing upper convex hull of `points` over [lo, hi], divided by (hi - lo).
double Aiq(std::vector<CostQuality> points, double lo, double hi);

}  // namespace tandem::eval
