// `tandem train --encoder <gguf>`: the SLM-scored router. Embeds each prompt with the small model
// (cli/slm_embed: rendered with its chat template, as the gateway will render it), trains route/slm_head and
// reports RouteLLM's metrics on prompts it did not train on — beside the text router trained on the same prompts
// and the two together. `--target error` (for `tandem outcomes` files, where the SLM is the weak model) trains the
// head on the SLM's own mistakes; `--leave-one-task-out` holds out each task ("domain") in turn, and where the
// file carries the SLM's answer signals also reports the head combined with its first-token confidence.
#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/slm_embed.h"
#include "eval/run_eval.h"
#include "route/learned_router.h"
#include "route/slm_head.h"

namespace tandem {
namespace {

// Each score's rank in [0, 1): scorers calibrated differently can then be averaged.
std::vector<double> Ranks(const std::vector<double>& s) {
  std::vector<size_t> idx(s.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t p, size_t q) { return s[p] < s[q]; });
  std::vector<double> r(s.size());
  for (size_t k = 0; k < idx.size(); ++k) r[idx[k]] = static_cast<double>(k) / static_cast<double>(idx.size());
  return r;
}

std::vector<double> RankAverage(const std::vector<std::vector<double>>& scorers) {
  std::vector<double> mix(scorers.front().size(), 0.0);
  for (const auto& s : scorers) {
    const std::vector<double> r = Ranks(s);
    for (size_t i = 0; i < mix.size(); ++i) mix[i] += r[i] / static_cast<double>(scorers.size());
  }
  return mix;
}

// What the head learns: "error" = the weak model (the SLM) was wrong; "gain" = the strong model's expected gain.
std::vector<double> Targets(const eval::Dataset& d, const SlmTrainArgs& a) {
  if (a.target != "error") return RoutingTargets(d.weak, d.strong, d.domains, a.pooling);
  std::vector<double> t;
  for (double w : d.weak) t.push_back(w >= 0.5 ? 0.0 : 1.0);
  return t;
}

// The tasks ("domain") a dataset names, sorted, each once.
std::vector<std::string> Tasks(const eval::Dataset& d) {
  std::vector<std::string> tasks = d.domains;
  std::sort(tasks.begin(), tasks.end());
  tasks.erase(std::unique(tasks.begin(), tasks.end()), tasks.end());
  return tasks;
}

std::vector<size_t> Iota(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// Trains the head and the text router on rows `train` of `d`, scores rows `held` and prints the table.
Result<SlmHead> TrainAndReport(const eval::Dataset& d, const std::vector<std::vector<float>>& emb,
                               const std::string& encoder_id, const std::vector<size_t>& train,
                               const std::vector<size_t>& held, const std::string& held_name,
                               const SlmTrainArgs& a) {
  const eval::Dataset tr = eval::Subset(d, train, d.name);
  std::vector<std::vector<float>> x;
  for (size_t i : train) x.push_back(emb[i]);
  SlmHeadOptions ho;
  ho.epochs = a.epochs;
  ho.l2 = a.l2;
  ho.seed = a.seed;
  const std::vector<double> labels = Targets(tr, a);
  SlmHead head = SlmHead::Train(encoder_id, x, labels, ho);
  if (held.empty()) return head;
  TrainOptions to = LearnedRouterDefaults();
  to.seed = a.seed;
  const LearnedRouter text = LearnedRouter::Train(tr.prompts, labels, to);
  const eval::Dataset ho_set = eval::Subset(d, held, held_name);
  std::vector<double> slm_scores, text_scores;
  for (size_t j = 0; j < held.size(); ++j) {
    slm_scores.push_back(head.score(emb[held[j]]));
    text_scores.push_back(text.score(ho_set.prompts[j]));
  }
  eval::EvalOptions eo;
  eo.routers = {"random", "length"};
  eo.scored = {{"slm-head", slm_scores}, {"text", text_scores}, {"slm-head+text", RankAverage({slm_scores, text_scores})}};
  if (a.target == "error") eo.calibrated.push_back("slm-head");
  // After generating: the head beside the answer's own confidence (higher = more likely wrong).
  if (auto fp = ho_set.signals.find("first_prob"); fp != ho_set.signals.end()) {
    std::vector<double> unsure;
    for (double p : fp->second) unsure.push_back(-p);
    eo.routers.push_back("signal:-first_prob");
    eo.scored.emplace_back("slm-head+first_prob", RankAverage({slm_scores, unsure}));
    eo.scored.emplace_back("slm-head+text+first_prob", RankAverage({slm_scores, text_scores, unsure}));
  }
  auto results = eval::RunEval(ho_set, eo);
  if (!results.ok()) return results.status();
  std::fputs(eval::FormatEval(ho_set, results.value()).c_str(), stdout);
  std::fputs("\n", stdout);
  return head;
}

}  // namespace

int SlmTrainCommand(const SlmTrainArgs& a) {
  auto loaded = eval::LoadDataset(a.data, a.weak, a.strong);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
    return 1;
  }
  if (a.train_fraction <= 0 || a.train_fraction > 1 || a.threads < 1 || (a.target != "gain" && a.target != "error")) {
    std::fprintf(stderr, "--train-fraction must be in (0, 1], --threads >= 1, --target 'gain' or 'error'\n");
    return 2;
  }
  eval::Dataset d = std::move(loaded.value());
  if (a.leave_one_task_out && Tasks(d).size() < 2) {
    std::fprintf(stderr, "--leave-one-task-out: %s names fewer than two tasks (\"domain\")\n", a.data.c_str());
    return 2;
  }
  // The sample does not depend on --seed: splits with other seeds reuse the same embeddings (and cache).
  constexpr unsigned kSampleSeed = 1001;
  if (a.limit > 0 && static_cast<size_t>(a.limit) < d.prompts.size()) {
    const std::string name = d.name;
    d = eval::Split(d, static_cast<double>(a.limit) / static_cast<double>(d.prompts.size()), kSampleSeed).first;
    d.name = name + " (" + std::to_string(a.limit) + " at random)";
  }
  auto embedded = EmbedDataset(d, a.encoder, a.cache, a.threads, a.ctx);
  if (!embedded.ok()) {
    std::fprintf(stderr, "%s\n", embedded.status().message().c_str());
    return 1;
  }
  const eval::Dataset& kept = embedded->kept;
  const auto& emb = embedded->rows;
  std::vector<size_t> train_rows, held_rows;
  if (a.leave_one_task_out) {
    std::printf("Leave one task out: each task scored by routers trained on the others (target: %s)\n\n",
                a.target.c_str());
    for (const std::string& t : Tasks(kept)) {
      std::vector<size_t> others, own;
      for (size_t i = 0; i < kept.domains.size(); ++i) (kept.domains[i] == t ? own : others).push_back(i);
      auto r = TrainAndReport(kept, emb, embedded->encoder_id, others, own, t, a);
      if (!r.ok()) {
        std::fprintf(stderr, "%s: %s\n", t.c_str(), r.status().message().c_str());
        return 1;
      }
    }
    train_rows = Iota(kept.prompts.size());  // the saved head learns from every task
  } else {
    std::vector<size_t> idx = Iota(kept.prompts.size());
    eval::Dataset order = kept;
    order.scores.clear();
    for (size_t i : idx) order.scores.push_back(static_cast<double>(i));  // carries the row index through the split
    auto [train, held] = eval::Split(order, a.train_fraction, a.seed);
    for (double v : train.scores) train_rows.push_back(static_cast<size_t>(v));
    for (double v : held.scores) held_rows.push_back(static_cast<size_t>(v));
  }
  auto head = TrainAndReport(kept, emb, embedded->encoder_id, train_rows, held_rows, kept.name + " (held out)", a);
  if (!head.ok()) {
    std::fprintf(stderr, "%s\n", head.status().message().c_str());
    return 1;
  }
  if (Status s = head->Save(a.out); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::printf("trained the SLM-scored head on %zu prompts (%zu features, target %s), saved %s\n",
              train_rows.size(), head->dim(), a.target.c_str(), a.out.c_str());
  return 0;
}

}  // namespace tandem
