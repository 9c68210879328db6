// RunEval: `tandem eval` — replay a dataset of recorded outcomes through routers and report RouteLLM's
// metrics.
//
// Routers available offline: `random` (uniform scores, seeded: the APGR ≈ 0.5 reference), `length` (longer
// prompts to the strong model), `scores` (scores recorded in a JSONL dataset), `model:<file>` (a router made
// by `tandem train`), always with the oracle beside them. Prints PGR at 20/50/80% strong calls, APGR and
// CPT(20/50/80%) per router, and writes the quality-cost plot as SVG. Thread-safe (pure over its inputs).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eval/dataset.h"
#include "eval/metrics.h"

namespace tandem::eval {

struct RouterResult {
  std::string name;
  std::vector<CurvePoint> curve;
  Metrics metrics;
  double pgr20 = 0, pgr50 = 0, pgr80 = 0;  // PGR at 20/50/80% strong calls
  std::vector<double> scores;              // the router's score for each prompt (empty for the oracle)
};

struct EvalOptions {
  std::vector<std::string> routers = {"random", "length"};
  int bins = 10;
  unsigned seed = 0;
  // More routers, as scores already computed for every prompt (name, scores).
  std::vector<std::pair<std::string, std::vector<double>>> scored;
};

Result<std::vector<RouterResult>> RunEval(const Dataset& d, const EvalOptions& opt);
std::string FormatEval(const Dataset& d, const std::vector<RouterResult>& results);
// A random split by prompt: the first part holds `train_fraction` of the prompts.
std::pair<Dataset, Dataset> Split(const Dataset& d, double train_fraction, unsigned seed);

}  // namespace tandem::eval
