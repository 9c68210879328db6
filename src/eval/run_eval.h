// RunEval: `tandem eval` — replay a dataset of recorded outcomes through routers and report RouteLLM's
// metrics.
//
// Routers available offline: `random` (uniform scores, seeded: the APGR ≈ 0.5 reference), `length` (longer
// prompts to the strong model), `scores` (scores recorded in a JSONL dataset), `model:<file>` (a router made
// by `tandem train`), `signal:<name>` / `signal:-<name>` (a recorded SLM signal, high or low values to the strong
// model), `confidence:<file>` (a calibrated self-knowledge router, route/confidence_router.h) and `default` (the
// shipped one for the file's SLM, found in `routers_dir`), always with the oracle beside them. Each row also
// gives AUROC (the scores against the weak model's wrong answers) and, for calibrated routers, the calibration
// error. Prints PGR at 20/50/80% strong calls, APGR and
// CPT(20/50/80%) per router, and writes the quality-cost plot as SVG. Thread-safe (pure over its inputs).
#pragma once

#include <string>
#include <algorithm>
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
  double auroc = 0;  // how well the scores tell the weak model's wrong answers apart (NaN: not defined)
  double ece = 0;    // calibration error of 1 - score as P(weak right), for routers that give one (else NaN)
};

struct EvalOptions {
  std::vector<std::string> routers = {"random", "length"};
  int bins = 10;
  unsigned seed = 0;
  std::string routers_dir = "routers";  // where `default` looks for *.tcr files
  // More routers, as scores already computed for every prompt (name, scores).
  std::vector<std::pair<std::string, std::vector<double>>> scored;
  std::vector<std::string> calibrated;  // names in `scored` whose 1 - score is P(weak right)
};

Result<std::vector<RouterResult>> RunEval(const Dataset& d, const EvalOptions& opt);
std::string FormatEval(const Dataset& d, const std::vector<RouterResult>& results);
// The rows `rows` of `d` (in that order), every per-prompt column with them, named `name`.
Dataset Subset(const Dataset& d, const std::vector<size_t>& rows, std::string name);
// A random split by prompt: the first part holds `train_fraction` of the prompts.
std::pair<Dataset, Dataset> Split(const Dataset& d, double train_fraction, unsigned seed);

}  // namespace tandem::eval
