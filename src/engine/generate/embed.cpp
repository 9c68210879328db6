#include "engine/generate/embed.h"

#include "engine/generate/generate.h"

namespace tandem::engine {

Result<std::vector<float>> EmbedPrompt(Session& session, const std::vector<int32_t>& prompt) {
  if (static_cast<int>(prompt.size()) >= session.n_ctx())
    return Status(Code::kInvalidArgument, "prompt of " + std::to_string(prompt.size()) +
                                              " tokens does not fit the context of " + std::to_string(session.n_ctx()));
  std::vector<float> hidden;
  auto done = Prefill(session, prompt, &hidden);
  if (!done.ok()) return done.status();
  const size_t d = static_cast<size_t>(session.model().config().n_embd);
  const size_t n = prompt.size();
  std::vector<float> pooled(2 * d, 0.0f);
  std::vector<double> sum(d, 0.0);
  for (size_t t = 0; t < n; ++t) {
    const float* h = hidden.data() + t * d;
    for (size_t i = 0; i < d; ++i) sum[i] += h[i];
  }
  const float* last = hidden.data() + (n - 1) * d;
  for (size_t i = 0; i < d; ++i) {
    pooled[i] = static_cast<float>(sum[i] / static_cast<double>(n));
    pooled[d + i] = last[i];
  }
  return pooled;
}

std::string EncoderId(const Model& model) {
  const ModelConfig& c = model.config();
  return c.name + "|" + c.arch_name + "|" + std::to_string(c.n_layer) + "x" + std::to_string(c.n_embd) + "|" +
         std::to_string(c.n_vocab);
}

}  // namespace tandem::engine
