// `tandem train --encoder <gguf>`: the SLM-scored router. Embeds each prompt with the small model (rendered with
// its chat template, as the gateway will render it), trains route/slm_head on one part and reports RouteLLM's
// metrics on the rest — beside the text router trained on the same part and the average of the two.
#include <cstdio>
#include <fstream>
#include <unordered_map>

#include "cli/commands.h"
#include "engine/chat/chat_template.h"
#include "engine/generate/embed.h"
#include "engine/model/model.h"
#include "engine/runtime/thread_pool.h"
#include "eval/run_eval.h"
#include "route/learned_router.h"
#include "route/slm_head.h"

namespace tandem {
namespace {

uint64_t Fnv64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Embeddings already computed, keyed by the prompt's hash and the encoder: a cache file of
// (u64 key, u32 dim, dim floats) records. A run that is interrupted keeps what it computed.
class EmbeddingCache {
 public:
  EmbeddingCache(std::string path, std::string encoder) : path_(std::move(path)), salt_(Fnv64(encoder)) {
    if (path_.empty()) return;
    std::ifstream in(path_, std::ios::binary);
    uint64_t key;
    uint32_t dim;
    while (in.read(reinterpret_cast<char*>(&key), sizeof key) && in.read(reinterpret_cast<char*>(&dim), sizeof dim)) {
      if (dim > (1u << 16)) break;
      std::vector<float> v(dim);
      if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(dim * sizeof(float)))) break;
      map_[key] = std::move(v);
    }
    out_.open(path_, std::ios::binary | std::ios::app);
  }
  const std::vector<float>* find(std::string_view prompt) const {
    auto it = map_.find(Fnv64(prompt) ^ salt_);
    return it == map_.end() ? nullptr : &it->second;
  }
  void put(std::string_view prompt, const std::vector<float>& v) {
    const uint64_t key = Fnv64(prompt) ^ salt_;
    map_[key] = v;
    if (!out_) return;
    const uint32_t dim = static_cast<uint32_t>(v.size());
    out_.write(reinterpret_cast<const char*>(&key), sizeof key);
    out_.write(reinterpret_cast<const char*>(&dim), sizeof dim);
    out_.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    out_.flush();
  }
  size_t size() const { return map_.size(); }

 private:
  std::string path_;
  uint64_t salt_;
  std::unordered_map<uint64_t, std::vector<float>> map_;
  std::ofstream out_;
};

}  // namespace

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
  auto model = engine::Model::Load(a.encoder);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().message().c_str());
    return 1;
  }
  const std::string encoder_id = engine::EncoderId(**model);
  engine::ThreadPool pool(a.threads);
  engine::Session session(*model, std::min(a.ctx, (*model)->config().n_ctx_train), &pool);
  const auto tmpl = engine::ChatTemplate::Detect((*model)->config().chat_template, (*model)->config().arch);
  EmbeddingCache cache(a.cache, encoder_id);
  std::fprintf(stderr, "encoder %s; %zu prompts (%zu cached)\n", encoder_id.c_str(), d.prompts.size(), cache.size());

  // Embed every prompt (dropping those that do not fit the context, as the gateway would not score them).
  eval::Dataset kept = d;
  kept.prompts.clear(), kept.weak.clear(), kept.strong.clear(), kept.weak_cost.clear(), kept.strong_cost.clear();
  kept.scores.clear(), kept.domains.clear();
  std::vector<std::vector<float>> emb;
  size_t done = 0, too_long = 0;
  for (size_t i = 0; i < d.prompts.size(); ++i) {
    const std::vector<float>* v = cache.find(d.prompts[i]);
    std::vector<float> fresh;
    if (!v) {
      const std::string text = tmpl.Render({{"user", d.prompts[i]}});
      auto r = engine::EmbedPrompt(session, (*model)->tokenizer().Encode(text, true, true));
      if (!r.ok()) {
        ++too_long;
        continue;
      }
      fresh = std::move(*r);
      cache.put(d.prompts[i], fresh);
      v = &fresh;
    }
    emb.push_back(*v);
    kept.prompts.push_back(d.prompts[i]);
    kept.weak.push_back(d.weak[i]);
    kept.strong.push_back(d.strong[i]);
    if (!d.domains.empty()) kept.domains.push_back(d.domains[i]);
    if (++done % 250 == 0) std::fprintf(stderr, "  embedded %zu/%zu\n", done, d.prompts.size());
  }
  if (too_long) std::fprintf(stderr, "%zu prompts left out: longer than the context\n", too_long);

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
