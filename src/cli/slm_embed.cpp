#include "cli/slm_embed.h"

#include <cstdio>

#include "cli/embedding_cache.h"
#include "engine/chat/chat_template.h"
#include "engine/generate/embed.h"
#include "engine/model/model.h"
#include "engine/runtime/thread_pool.h"

namespace tandem {

Result<EmbeddedDataset> EmbedDataset(const eval::Dataset& d, const std::string& encoder_path,
                                     const std::string& cache_path, int threads, int ctx) {
  auto model = engine::Model::Load(encoder_path);
  if (!model.ok()) return model.status();
  EmbeddedDataset out;
  out.encoder_id = engine::EncoderId(**model);
  engine::ThreadPool pool(threads);
  engine::Session session(*model, std::min(ctx, (*model)->config().n_ctx_train), &pool);
  const auto tmpl = engine::ChatTemplate::Detect((*model)->config().chat_template, (*model)->config().arch);
  EmbeddingCache cache(cache_path, out.encoder_id);
  std::fprintf(stderr, "encoder %s; %zu prompts (%zu cached)\n", out.encoder_id.c_str(), d.prompts.size(),
               cache.size());
  eval::Dataset& kept = out.kept;
  kept.name = d.name, kept.weak_model = d.weak_model, kept.strong_model = d.strong_model, kept.skipped = d.skipped;
  size_t done = 0;
  for (size_t i = 0; i < d.prompts.size(); ++i) {
    const std::vector<float>* v = cache.find(d.prompts[i]);
    std::vector<float> fresh;
    if (!v) {
      const std::string text = tmpl.Render({{"user", d.prompts[i]}});
      auto r = engine::EmbedPrompt(session, (*model)->tokenizer().Encode(text, true, true));
      if (!r.ok()) {
        ++out.too_long;
        continue;
      }
      fresh = std::move(*r);
      cache.put(d.prompts[i], fresh);
      v = &fresh;
    }
    out.rows.push_back(*v);
    kept.prompts.push_back(d.prompts[i]);
    kept.weak.push_back(d.weak[i]);
    kept.strong.push_back(d.strong[i]);
    if (!d.weak_cost.empty()) kept.weak_cost.push_back(d.weak_cost[i]), kept.strong_cost.push_back(d.strong_cost[i]);
    if (!d.scores.empty()) kept.scores.push_back(d.scores[i]);
    if (!d.domains.empty()) kept.domains.push_back(d.domains[i]);
    if (++done % 250 == 0) std::fprintf(stderr, "  embedded %zu/%zu\n", done, d.prompts.size());
  }
  if (out.too_long) std::fprintf(stderr, "%zu prompts left out: longer than the context\n", out.too_long);
  return out;
}

}  // namespace tandem
