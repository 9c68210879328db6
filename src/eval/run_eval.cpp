#include "eval/run_eval.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "route/learned_router.h"

namespace tandem::eval {
namespace {

RouterResult Score(const std::string& name, std::vector<CurvePoint> curve, const Dataset& d,
                   std::vector<double> scores = {}) {
  RouterResult r;
  r.name = name;
  r.scores = std::move(scores);
  r.curve = std::move(curve);
  double wa = d.weak_accuracy(), sa = d.strong_accuracy();
  r.metrics = Summarize(r.curve, wa, sa);
  r.pgr20 = PgrAt(r.curve, 20, wa, sa);
  r.pgr50 = PgrAt(r.curve, 50, wa, sa);
  r.pgr80 = PgrAt(r.curve, 80, wa, sa);
  return r;
}

}  // namespace

Result<std::vector<RouterResult>> RunEval(const Dataset& d, const EvalOptions& opt) {
  if (d.prompts.empty()) return Status(Code::kInvalidArgument, "the dataset has no prompts");
  if (d.strong_accuracy() == d.weak_accuracy()) {
    return Status(Code::kInvalidArgument, "weak and strong accuracy are equal: PGR is undefined");
  }
  std::vector<RouterResult> out;
  for (const auto& name : opt.routers) {
    std::vector<double> scores;
    if (name == "random") {
      std::mt19937_64 rng(opt.seed);
      std::uniform_real_distribution<double> u(0, 1);
      for (size_t i = 0; i < d.prompts.size(); ++i) scores.push_back(u(rng));
    } else if (name == "length") {
      for (const auto& p : d.prompts) scores.push_back(static_cast<double>(p.size()));
    } else if (name == "scores") {
      if (d.scores.size() != d.prompts.size()) {
        return Status(Code::kInvalidArgument,
                      "router 'scores' needs a 'score' on every line of a JSONL dataset");
      }
      scores = d.scores;
    } else if (name.rfind("model:", 0) == 0) {
      auto model = LearnedRouter::Load(name.substr(6));
      if (!model.ok()) return model.status();
      for (const auto& p : d.prompts) scores.push_back(model->score(p));
    } else {
      return Status(Code::kInvalidArgument,
                    "unknown router '" + name + "' (random, length, scores, model:<file>)");
    }
    auto curve = RouteLlmCurve(scores, d.weak, d.strong, opt.bins);
    out.push_back(Score(name, std::move(curve), d, std::move(scores)));
  }
  for (const auto& [name, scores] : opt.scored) {
    if (scores.size() != d.prompts.size())
      return Status(Code::kInvalidArgument, "router '" + name + "' scored " + std::to_string(scores.size()) +
                                                " of " + std::to_string(d.prompts.size()) + " prompts");
    out.push_back(Score(name, RouteLlmCurve(scores, d.weak, d.strong, opt.bins), d, scores));
  }
  out.push_back(Score("oracle", OracleCurve(d.weak, d.strong), d));
  return out;
}

std::pair<Dataset, Dataset> Split(const Dataset& d, double train_fraction, unsigned seed) {
  std::vector<size_t> idx(d.prompts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  size_t cut = static_cast<size_t>(train_fraction * static_cast<double>(idx.size()));
  Dataset parts[2];
  for (int k = 0; k < 2; ++k) {
    parts[k].name = d.name + (k == 0 ? " (train)" : " (held out)");
    parts[k].weak_model = d.weak_model;
    parts[k].strong_model = d.strong_model;
  }
  for (size_t j = 0; j < idx.size(); ++j) {
    Dataset& p = parts[j < cut ? 0 : 1];
    size_t i = idx[j];
    p.prompts.push_back(d.prompts[i]);
    p.weak.push_back(d.weak[i]);
    p.strong.push_back(d.strong[i]);
    if (!d.weak_cost.empty()) {
      p.weak_cost.push_back(d.weak_cost[i]);
      p.strong_cost.push_back(d.strong_cost[i]);
    }
    if (!d.scores.empty()) p.scores.push_back(d.scores[i]);
    if (!d.domains.empty()) p.domains.push_back(d.domains[i]);
  }
  return {std::move(parts[0]), std::move(parts[1])};
}

std::string FormatEval(const Dataset& d, const std::vector<RouterResult>& results) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%s: %zu prompts; weak %s %.2f%%, strong %s %.2f%%\n", d.name.c_str(),
                d.prompts.size(), d.weak_model.c_str(), d.weak_accuracy(), d.strong_model.c_str(),
                d.strong_accuracy());
  out += line;
  if (d.skipped > 0) {
    std::snprintf(line, sizeof line, "(%zu rows without an outcome for both models were left out)\n",
                  d.skipped);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-10s %8s %8s %8s %8s %9s %9s %9s\n", "router", "APGR", "PGR@20%",
                "PGR@50%", "PGR@80%", "CPT(20%)", "CPT(50%)", "CPT(80%)");
  out += line;
  for (const auto& r : results) {
    std::snprintf(line, sizeof line, "%-10s %8.4f %8.3f %8.3f %8.3f %8.2f%% %8.2f%% %8.2f%%\n",
                  r.name.c_str(), r.metrics.apgr, r.pgr20, r.pgr50, r.pgr80, r.metrics.cpt20, r.metrics.cpt50,
                  r.metrics.cpt80);
    out += line;
  }
  return out;
}

}  // namespace tandem::eval
