#include "engine/generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace tandem::engine {

int32_t Sampler::Sample(const float* logits, int n_vocab, const std::vector<int32_t>& recent,
                        const std::vector<bool>* allowed) {
  auto ok = [&](int i) { return !allowed || (*allowed)[static_cast<size_t>(i)]; };
  std::unordered_set<int32_t> penalized;
  if (p_.repeat_penalty != 1.0f && p_.repeat_last_n != 0) {
    const size_t n = p_.repeat_last_n < 0 ? recent.size() : std::min<size_t>(recent.size(), p_.repeat_last_n);
    penalized.insert(recent.end() - static_cast<std::ptrdiff_t>(n), recent.end());
  }
  auto value = [&](int i) {
    float v = logits[i];
    if (!penalized.empty() && penalized.count(i)) v = v > 0 ? v / p_.repeat_penalty : v * p_.repeat_penalty;
    return v;
  };
  if (p_.temperature <= 0.f) {
    int best = -1;
    float bv = -INFINITY;
    for (int i = 0; i < n_vocab; ++i) {
      if (!ok(i)) continue;
      const float v = value(i);
      if (best < 0 || v > bv) best = i, bv = v;
    }
    return best;
  }
  cand_.clear();
  for (int i = 0; i < n_vocab; ++i)
    if (ok(i)) cand_.push_back({i, value(i)});
  if (cand_.empty()) return -1;
  auto by_logit = [](const TokenProb& a, const TokenProb& b) {
    return a.logprob != b.logprob ? a.logprob > b.logprob : a.id < b.id;
  };
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < cand_.size()) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
    cand_.resize(static_cast<size_t>(p_.top_k));
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  // Softmax over the survivors (at temperature 1 for the p filters, as llama.cpp does).
  auto softmax = [&](float temp, std::vector<double>* probs) {
    probs->resize(cand_.size());
    const float mx = cand_[0].logprob;
    double sum = 0;
    for (size_t i = 0; i < cand_.size(); ++i) sum += (*probs)[i] = std::exp((cand_[i].logprob - mx) / temp);
    for (double& p : *probs) p /= sum;
  };
  std::vector<double> probs;
  if (p_.top_p < 1.0f) {
    softmax(1.0f, &probs);
    double cum = 0;
    size_t keep = cand_.size();
    for (size_t i = 0; i < cand_.size(); ++i) {
      cum += probs[i];
      if (cum >= p_.top_p) {
        keep = i + 1;
        break;
      }
    }
    cand_.resize(keep);
  }
  if (p_.min_p > 0.f) {
    const float floor = cand_[0].logprob + std::log(p_.min_p);
    size_t keep = 1;
    while (keep < cand_.size() && cand_[keep].logprob >= floor) ++keep;
    cand_.resize(keep);
  }
  softmax(p_.temperature, &probs);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double r = u(rng_), cum = 0;
  for (size_t i = 0; i < cand_.size(); ++i) {
    cum += probs[i];
    if (r < cum) return cand_[i].id;
  }
  return cand_.back().id;
}

float Sampler::LogProb(const float* logits, int n_vocab, int32_t id, int top, std::vector<TokenProb>* alternatives) {
  float mx = -INFINITY;
  for (int i = 0; i < n_vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - mx));
  const float lse = mx + static_cast<float>(std::log(sum));
  if (alternatives && top > 0) {
    std::vector<TokenProb> all;
    all.reserve(static_cast<size_t>(n_vocab));
    for (int i = 0; i < n_vocab; ++i) all.push_back({i, logits[i] - lse});
    const size_t k = std::min<size_t>(static_cast<size_t>(top), all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(),
                      [](const TokenProb& a, const TokenProb& b) { return a.logprob > b.logprob; });
    alternatives->assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
  }
  return logits[id] - lse;
}

}  // namespace tandem::engine
