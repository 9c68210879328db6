// `tandem train --models` and `tandem eval --models`: routing among more than two models (RouterBench data).
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "eval/multi_eval.h"
#include "route/multi_router.h"

namespace tandem {
namespace {

// One RouterBench .csv, or several separated by commas (their prompts pooled: a mix of tasks).
Result<eval::MultiDataset> Load(const std::string& data, const std::string& models) {
  eval::MultiDataset all;
  std::stringstream ss(data);
  for (std::string file; std::getline(ss, file, ',');) {
    if (file.size() < 4 || file.compare(file.size() - 4, 4, ".csv") != 0)
      return Status(Code::kInvalidArgument, file + ": --models needs RouterBench .csv files (per-model score and cost)");
    auto d = eval::LoadRouterBenchMulti(file, models);
    if (!d.ok()) return d.status();
    if (all.models.empty()) {
      all = std::move(d.value());
      continue;
    }
    if (d->models != all.models)
      return Status(Code::kInvalidArgument, file + ": its models differ from the first file's (name them with --models)");
    all.name += "+" + d->name;
    all.skipped += d->skipped;
    for (size_t i = 0; i < d->prompts.size(); ++i) {
      all.prompts.push_back(std::move(d->prompts[i]));
      all.quality.push_back(std::move(d->quality[i]));
      all.cost.push_back(std::move(d->cost[i]));
    }
  }
  if (all.models.empty()) return Status(Code::kInvalidArgument, "--data: no file given");
  return all;
}

}  // namespace

int MultiTrainCommand(const std::string& data, const std::string& models, const std::string& out,
                      double train_fraction, unsigned seed, int bits, int epochs) {
  auto d = Load(data, models);
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().message().c_str());
    return 1;
  }
  if (train_fraction <= 0 || train_fraction > 1 || bits < 8 || bits > 24 || epochs < 1) {
    std::fprintf(stderr, "--train-fraction must be in (0, 1], --bits in [8, 24], --epochs >= 1\n");
    return 2;
  }
  auto [train, held_out] = eval::SplitMulti(d.value(), train_fraction, seed);
  TrainOptions opt;
  opt.bits = bits;
  opt.epochs = epochs;
  opt.seed = seed;
  MultiRouter router = MultiRouter::Train(train.prompts, train.models, train.quality, train.cost, opt);
  Status saved = router.Save(out);
  if (!saved.ok()) {
    std::fprintf(stderr, "%s\n", saved.message().c_str());
    return 1;
  }
  std::printf("trained %zu model heads on %zu prompts, saved %s\n", train.models.size(), train.prompts.size(),
              out.c_str());
  if (held_out.prompts.empty()) return 0;
  std::fputs(eval::FormatMulti(held_out, eval::EvalMulti(held_out, router)).c_str(), stdout);
  return 0;
}

int MultiEvalCommand(const std::string& data, const std::string& models, const std::string& router_file) {
  auto d = Load(data, models);
  if (!d.ok()) {
    std::fprintf(stderr, "%s\n", d.status().message().c_str());
    return 1;
  }
  auto router = MultiRouter::Load(router_file);
  if (!router.ok()) {
    std::fprintf(stderr, "%s\n", router.status().message().c_str());
    return 1;
  }
  size_t known = 0;
  for (const auto& m : router->models())
    known += std::find(d->models.begin(), d->models.end(), m) != d->models.end();
  if (known < 2) {
    std::fprintf(stderr, "%s: fewer than two of the router's models are in %s\n", router_file.c_str(), data.c_str());
    return 1;
  }
  std::fputs(eval::FormatMulti(d.value(), eval::EvalMulti(d.value(), router.value())).c_str(), stdout);
  return 0;
}

}  // namespace tandem
