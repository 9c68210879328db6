#include "engine/generate/score.h"

#include <algorithm>
#include <cmath>

#include "engine/generate/generate.h"

namespace tandem::engine {
namespace {

// log softmax(logits)[token], computed stably.
double LogProb(const std::vector<float>& logits, int32_t token) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - mx));
  return static_cast<double>(logits[static_cast<size_t>(token)] - mx) - std::log(sum);
}

}  // namespace

Result<ContinuationScores> ScoreContinuations(Session& session, const std::vector<int32_t>& prompt,
                                              const std::vector<std::vector<int32_t>>& candidates) {
  size_t longest = 0;
  const int32_t vocab = session.model().config().n_vocab;
  for (const auto& c : candidates) {
    if (c.empty()) return Status(Code::kInvalidArgument, "an empty continuation cannot be scored");
    for (int32_t t : c)
      if (t < 0 || t >= vocab) return Status(Code::kInvalidArgument, "continuation token outside the vocabulary");
    longest = std::max(longest, c.size());
  }
  if (prompt.empty()) return Status(Code::kInvalidArgument, "an empty prompt cannot be continued");
  if (prompt.size() + longest >= static_cast<size_t>(session.n_ctx()))
    return Status(Code::kInvalidArgument, "prompt of " + std::to_string(prompt.size()) +
                                              " tokens and its continuations do not fit the context of " +
                                              std::to_string(session.n_ctx()));
  auto cached = Prefill(session, prompt);
  if (!cached.ok()) return cached.status();
  ContinuationScores out;
  out.prompt_tokens = static_cast<int>(prompt.size());
  out.cached_tokens = cached.value();
  const std::vector<float> first = session.logits();
  const int end = session.pos();
  for (const auto& c : candidates) {
    double lp = LogProb(first, c[0]);
    for (size_t k = 1; k < c.size(); ++k) {
      Status s = session.Forward(&c[k - 1], 1);
      if (!s.ok()) {
        session.Truncate(end);
        return s;
      }
      ++out.extra_tokens;
      lp += LogProb(session.logits(), c[k]);
    }
    session.Truncate(end);
    out.logprob.push_back(lp);
  }
  return out;
}

}  // namespace tandem::engine
