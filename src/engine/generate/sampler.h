// Token sampling over one step's logits, in llama.cpp's order: repetition penalty over the last `repeat_last_n`
// tokens, then top-k, top-p (nucleus), min-p, temperature, and a draw from a seeded generator. temperature <= 0
// is greedy (arg-max, lowest id on ties). A Sampler holds its RNG state: one per sequence, not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tandem::engine {

struct SamplingParams {
  float temperature = 0.f;
  int top_k = 40;          // <= 0: off
  float top_p = 1.0f;      // >= 1: off
  float min_p = 0.0f;      // <= 0: off
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;
  uint64_t seed = 0xC0FFEE;
};

struct TokenProb {
  int32_t id;
  float logprob;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

  // Picks the next token. `allowed`, if not null, masks the vocabulary (constrained decoding): only ids with
  // allowed[id] true can be drawn. `recent` is the sequence so far (for the repetition penalty).
  int32_t Sample(const float* logits, int n_vocab, const std::vector<int32_t>& recent,
                 const std::vector<bool>* allowed = nullptr);

  // log-softmax of the raw logits at `id`, and the `top` most likely alternatives (what OpenAI's logprobs
  // report: the model's distribution, before sampling transforms).
  static float LogProb(const float* logits, int n_vocab, int32_t id, int top, std::vector<TokenProb>* alternatives);

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::vector<TokenProb> cand_;
};

}  // namespace tandem::engine
