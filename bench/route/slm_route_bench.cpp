// slm_route_bench: what the SLM-scored router costs next to the SLM's own prefill, on the same prompts.
//   prefill          the prompt through the model, as answering it starts (logits of the last token only)
//   encode + score   the router's prefill (every token's final hidden state, pooled) and the head's dot product
//   route + answer   encode + score, then the first answer token reusing that KV cache (what the gateway does
//                    when the SLM keeps the request) ...
//   answer alone     ... against the first answer token from a cold cache (no router)
// Usage: slm_route_bench <model.gguf> [reps] [threads]. Prints per-prompt medians and the ratios.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/generate/embed.h"
#include "engine/generate/generate.h"
#include "engine/model/model.h"
#include "engine/runtime/thread_pool.h"
#include "route/slm_head.h"

using namespace tandem;

namespace {

double Ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: slm_route_bench <model.gguf> [reps] [threads]\n");
    return 2;
  }
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  auto model = engine::Model::Load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().message().c_str());
    return 1;
  }
  engine::ThreadPool pool(threads);
  engine::Session session(*model, std::min(2048, (*model)->config().n_ctx_train), &pool);
  const auto tmpl = engine::ChatTemplate::Detect((*model)->config().chat_template, (*model)->config().arch);
  // A head with random weights: scoring costs the same whatever the weights are.
  const int dim = 2 * (*model)->config().n_embd;
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0, 1);
  std::vector<std::vector<float>> rows(8, std::vector<float>(static_cast<size_t>(dim)));
  for (auto& r : rows)
    for (auto& x : r) x = g(rng);
  SlmHead head = SlmHead::Train(engine::EncoderId(**model), rows, {0, 1, 0, 1, 0, 1, 0, 1}, SlmHeadOptions{});

  const std::vector<std::string> prompts = {
      "Which of the following best describes the structure that collects urine in the body?\nA. Bladder\n"
      "B. Kidney\nC. Ureter\nD. Urethra\nAnswer:",
      "Summarize the main causes of the French Revolution in three sentences, for a high-school audience, "
      "mentioning the fiscal crisis, the Estates-General and the role of Enlightenment ideas.",
      "Write a short, polite email to a customer explaining that their order will arrive two days late "
      "because of a warehouse issue, and offer them a 10% discount on their next purchase.",
  };
  engine::GenerateOptions one;
  one.max_tokens = 1;
  std::vector<double> prefill, encode, routed, alone;
  int tokens = 0;
  for (int r = 0; r < reps; ++r) {
    for (const auto& p : prompts) {
      const auto ids = (*model)->tokenizer().Encode(tmpl.Render({{"user", p}}), true, true);
      tokens += static_cast<int>(ids.size());
      session.Truncate(0);
      auto t0 = std::chrono::steady_clock::now();
      (void)engine::Prefill(session, ids);
      prefill.push_back(Ms(t0));

      session.Truncate(0);
      t0 = std::chrono::steady_clock::now();
      auto pooled = engine::EmbedPrompt(session, ids);
      volatile double s = head.score(*pooled);
      (void)s;
      encode.push_back(Ms(t0));
      (void)engine::Generate(session, ids, one);  // reuses the cache the router's prefill left
      routed.push_back(Ms(t0));

      session.Truncate(0);
      t0 = std::chrono::steady_clock::now();
      (void)engine::Generate(session, ids, one);
      alone.push_back(Ms(t0));
    }
  }
  const double pf = Median(prefill), en = Median(encode), ro = Median(routed), al = Median(alone);
  std::printf("model %s, %d threads, %zu prompts x %d reps, %.0f prompt tokens on average\n",
              engine::EncoderId(**model).c_str(), threads, prompts.size(), reps,
              static_cast<double>(tokens) / static_cast<double>(reps * prompts.size()));
  std::printf("%-34s %9s\n", "per prompt (median)", "ms");
  std::printf("%-34s %9.2f\n", "prefill (no router)", pf);
  std::printf("%-34s %9.2f   ratio to prefill %.3f\n", "encode + score (SLM-scored router)", en, en / pf);
  std::printf("%-34s %9.2f\n", "route + first answer token", ro);
  std::printf("%-34s %9.2f   ratio %.3f\n", "first answer token, no router", al, ro / al);
  return 0;
}
