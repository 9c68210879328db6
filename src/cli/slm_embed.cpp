#include "cli/slm_embed.h"

#include <cstdio>
#include <fstream>
#include <unordered_map>

#include "engine/chat/chat_template.h"
#include "engine/generate/embed.h"
#include "engine/model/model.h"
#include "engine/runtime/thread_pool.h"

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
