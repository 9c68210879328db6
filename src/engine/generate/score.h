// ScoreContinuations: how likely the model finds each of several short continuations of one prompt — the
// described-routes router's choice among route names (gateway/routed_call.cpp), at the cost of one prefill.
//
// The prompt is prefilled once (reusing the session's cached prefix, as Generate does). Each candidate's first
// token is read off the prompt's logits; its further tokens are run one at a time from the end of the prompt and
// the cache is cut back to the prompt after each candidate, so the session afterwards holds exactly the prompt.
// Not thread-safe (it drives the session).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "engine/model/model.h"

namespace tandem::engine {

struct ContinuationScores {
  std::vector<double> logprob;  // per candidate: the sum of its tokens' log-probabilities
  int prompt_tokens = 0;
  int cached_tokens = 0;        // of the prompt, reused from the session's cache
  int extra_tokens = 0;         // candidate tokens run beyond the prompt
};

// Every candidate must be non-empty; the prompt plus the longest candidate must fit the context.
Result<ContinuationScores> ScoreContinuations(Session& session, const std::vector<int32_t>& prompt,
                                              const std::vector<std::vector<int32_t>>& candidates);

}  // namespace tandem::engine
