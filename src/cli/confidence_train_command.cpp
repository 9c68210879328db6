// `tandem train --signals`: the calibrated self-knowledge router (route/confidence_router.h) from `tandem outcomes`
// files. With two or more files (tasks) it first reports leave-one-task-out: for each task, a router fitted on
// the others, beside random, length, the raw signals and the oracle on that task; then it fits on all of them
// and saves the router.
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "core/split.h"
#include "eval/dataset.h"
#include "eval/run_eval.h"
#include "route/confidence_router.h"

namespace tandem {
namespace {

Result<ConfidenceRouter> FitOn(const std::vector<const eval::Dataset*>& sets, const std::vector<std::string>& names,
                               double l2) {
  std::vector<std::vector<double>> rows;
  std::vector<double> right;
  for (const eval::Dataset* d : sets) {
    for (size_t i = 0; i < d->prompts.size(); ++i) {
      std::vector<double> row;
      for (const auto& n : names) row.push_back(d->signals.at(n)[i]);
      rows.push_back(std::move(row));
      right.push_back(d->weak[i] >= 0.5 ? 1 : 0);
    }
  }
  return ConfidenceRouter::Fit(names, rows, right, sets.front()->slm, l2);
}

}  // namespace

int ConfidenceTrainCommand(const ConfidenceTrainArgs& a) {
  std::vector<eval::Dataset> sets;
  for (const auto& path : SplitComma(a.data)) {
    auto d = eval::LoadJsonl(path);
    if (!d.ok()) {
      std::fprintf(stderr, "%s\n", d.status().message().c_str());
      return 1;
    }
    sets.push_back(std::move(d.value()));
  }
  if (sets.empty()) {
    std::fprintf(stderr, "--data: give one or more tandem outcomes .jsonl files, comma-separated\n");
    return 2;
  }
  std::vector<std::string> names = SignalNamesFrom(a.signals);
  for (const auto& d : sets) {
    if (d.slm != sets.front().slm) {
      std::fprintf(stderr, "%s holds outcomes of %s, %s of %s: one router is for one SLM\n", d.name.c_str(),
                   d.slm.c_str(), sets.front().name.c_str(), sets.front().slm.c_str());
      return 1;
    }
    for (const auto& n : names) {
      if (!d.signals.count(n)) {
        std::fprintf(stderr, "%s: no signal '%s' on every line (tandem outcomes writes them)\n", d.name.c_str(),
                     n.c_str());
        return 1;
      }
    }
  }
  if (sets.size() >= 2) {
    std::printf("Leave one task out: each task scored by a router fitted on the others\n\n");
    for (size_t t = 0; t < sets.size(); ++t) {
      std::vector<const eval::Dataset*> others;
      for (size_t j = 0; j < sets.size(); ++j)
        if (j != t) others.push_back(&sets[j]);
      auto r = FitOn(others, names, a.l2);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().message().c_str());
        return 1;
      }
      eval::EvalOptions opt;
      opt.routers = {"random", "length"};
      for (const auto& n : names) opt.routers.push_back("signal:-" + n);
      for (const auto& extra : SplitComma(a.compare)) opt.routers.push_back(extra);
      std::vector<double> scores;
      for (size_t i = 0; i < sets[t].prompts.size(); ++i) {
        std::vector<double> row;
        for (const auto& n : names) row.push_back(sets[t].signals.at(n)[i]);
        scores.push_back(1 - r->p_right_row(row));
      }
      opt.scored.emplace_back("confidence (fitted on the others)", scores);
      opt.calibrated.push_back("confidence (fitted on the others)");
      auto res = eval::RunEval(sets[t], opt);
      if (!res.ok()) {
        std::fprintf(stderr, "%s: %s\n", sets[t].name.c_str(), res.status().message().c_str());
        return 1;
      }
      std::printf("%s\n", eval::FormatEval(sets[t], res.value()).c_str());
    }
  }
  std::vector<const eval::Dataset*> all;
  for (const auto& d : sets) all.push_back(&d);
  auto r = FitOn(all, names, a.l2);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().message().c_str());
    return 1;
  }
  Status saved = r->Save(a.out);
  if (!saved.ok()) {
    std::fprintf(stderr, "%s\n", saved.message().c_str());
    return 1;
  }
  size_t n = 0;
  for (const auto& d : sets) n += d.prompts.size();
  std::printf("Fitted on all %zu answers of %s; saved to %s\n", n, sets.front().slm.c_str(), a.out.c_str());
  return 0;
}

}  // namespace tandem
