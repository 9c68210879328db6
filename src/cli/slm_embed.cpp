#include "cli/slm_embed.h"

#include <chrono>
#include <cstdio>

#include "cli/embedding_cache.h"
#include "engine/chat/chat_template.h"
#include "engine/generate/embed.h"
#include "engine/model/model.h"
#include "engine/runtime/thread_pool.h"
#include "eval/run_eval.h"

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
  std::vector<size_t> kept;
  size_t fresh_count = 0;
  const auto t0 = std::chrono::steady_clock::now();
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
      if (++fresh_count % 50 == 0) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double eta = s / static_cast<double>(fresh_count) * static_cast<double>(d.prompts.size() - i - 1);
        std::fprintf(stderr, "  embedded %zu/%zu (%.1f s each, about %.0f min left)\n", i + 1, d.prompts.size(),
                     s / static_cast<double>(fresh_count), eta / 60);
      }
    }
    out.rows.push_back(*v);
    kept.push_back(i);
  }
  out.kept = eval::Subset(d, kept, d.name);
  out.kept.skipped = d.skipped;
  if (out.too_long) std::fprintf(stderr, "%zu prompts left out: longer than the context\n", out.too_long);
  return out;
}

}  // namespace tandem
