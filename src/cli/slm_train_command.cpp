// `tandem train --encoder <gguf>`: the SLM-scored router. Embeds each prompt with the small model
// (cli/slm_embed: rendered with its chat template, as the gateway will render it), trains route/slm_head on one
// part and reports RouteLLM's metrics on the rest — beside the text router trained on the same part and the
// average of the two.
#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/slm_embed.h"
#include "eval/run_eval.h"
#include "route/learned_router.h"
#include "route/slm_head.h"

namespace tandem {

int SlmTrainCommand(const SlmTrainArgs& a) {
  auto loaded = eval::LoadDataset(a.data, a.weak, a.strong);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
    return 1;
  }
  if (a.train_fraction <= 0 || a.train_fraction > 1 || a.threads < 1) {
    std::fprintf(stderr, "--train-fraction must be in (0, 1], --threads >= 1\n");
    return 2;
  }
  eval::Dataset d = std::move(loaded.value());
  // The sample does not depend on --seed: splits with other seeds reuse the same embeddings (and cache).
  constexpr unsigned kSampleSeed = 1001;
  if (a.limit > 0 && static_cast<size_t>(a.limit) < d.prompts.size())
    d = eval::Split(d, static_cast<double>(a.limit) / static_cast<double>(d.prompts.size()), kSampleSeed).first;
  auto embedded = EmbedDataset(d, a.encoder, a.cache, a.threads, a.ctx);
  if (!embedded.ok()) {
    std::fprintf(stderr, "%s\n", embedded.status().message().c_str());
    return 1;
  }
  const std::string& encoder_id = embedded->encoder_id;
  eval::Dataset& kept = embedded->kept;
  const std::vector<std::vector<float>>& emb = embedded->rows;

  // The same split for the head and for the text router it is compared with.
  kept.scores.resize(kept.prompts.size());
  for (size_t i = 0; i < kept.scores.size(); ++i) kept.scores[i] = static_cast<double>(i);  // carries the row index
  auto [train, held_out] = eval::Split(kept, a.train_fraction, a.seed);
  std::vector<std::vector<float>> x;
  const std::vector<double> labels = RoutingTargets(train.weak, train.strong, train.domains, a.pooling);
  for (size_t j = 0; j < train.prompts.size(); ++j) x.push_back(emb[static_cast<size_t>(train.scores[j])]);
  SlmHeadOptions ho;
  ho.epochs = a.epochs;
  ho.l2 = a.l2;
  ho.seed = a.seed;
  SlmHead head = SlmHead::Train(encoder_id, x, labels, ho);
  if (Status s = head.Save(a.out); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::printf("trained the SLM-scored head on %zu prompts (%zu features), saved %s\n", train.prompts.size(),
              head.dim(), a.out.c_str());
  if (held_out.prompts.empty()) return 0;
  TrainOptions to = LearnedRouterDefaults();
  to.seed = a.seed;
  LearnedRouter text = LearnedRouter::Train(train.prompts, labels, to);
  std::vector<double> slm_scores, text_scores, mix;
  for (size_t j = 0; j < held_out.prompts.size(); ++j) {
    slm_scores.push_back(head.score(emb[static_cast<size_t>(held_out.scores[j])]));
    text_scores.push_back(text.score(held_out.prompts[j]));
  }
  // Averaging ranks, not raw probabilities: the two scorers are calibrated differently.
  auto ranks = [](const std::vector<double>& s) {
    std::vector<size_t> idx(s.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](size_t p, size_t q) { return s[p] < s[q]; });
    std::vector<double> r(s.size());
    for (size_t k = 0; k < idx.size(); ++k) r[idx[k]] = static_cast<double>(k) / static_cast<double>(idx.size());
    return r;
  };
  auto rs = ranks(slm_scores), rt = ranks(text_scores);
  for (size_t j = 0; j < rs.size(); ++j) mix.push_back((rs[j] + rt[j]) / 2);
  held_out.scores.clear();
  eval::EvalOptions eo;
  eo.routers = {"random", "length"};
  eo.scored = {{"slm-head", slm_scores}, {"text", text_scores}, {"slm+text", mix}};
  auto results = eval::RunEval(held_out, eo);
  if (!results.ok()) {
    std::fprintf(stderr, "%s\n", results.status().message().c_str());
    return 1;
  }
  std::fputs(eval::FormatEval(held_out, results.value()).c_str(), stdout);
  return 0;
}

}  // namespace tandem
