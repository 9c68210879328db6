// Cascade: the SLM drafts an answer first; its token probabilities decide whether the draft stands.
//
// Draft() sends the client's request to the SLM tier's chain (local models only) as a stream with token
// logprobs, into a buffer: nothing reaches the client during the draft, so an escalation never mixes two
// models' bytes in one answer. A time-to-first-token budget cancels a slow draft. The verdict is computed
// from the draft's logprobs (MeasureConfidence: the raw measure and the signals a calibrated confidence router
// reads); the handler then either replays the buffered draft to the
// client (ReplayChunk / AssembleCompletion turn it into exactly what the client asked for: a stream or one
// body, with or without logprobs and usage) or discards it and calls the LLM tier. Runs on the caller's
// event loop; one Draft per request; not thread-safe beyond that.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "providers/local_provider.h"
#include "providers/registry.h"

namespace tandem {

struct Confidence {
  bool has_logprobs = false;
  double value = 0;  // exp(mean logprob) or exp(min logprob), in [0, 1]
  int tokens = 0;    // answer tokens with a logprob
  std::map<std::string, double> signals;  // AnswerSignals() of the draft (route/confidence_router.h)
  std::string text;                       // the draft's content
};

// From streamed chat.completion.chunk objects (OpenAI's logprobs.content entries, top_logprobs included).
Confidence MeasureConfidence(const std::vector<std::string>& chunks, std::string_view measure);

// One non-streaming chat.completion body from a draft's chunks (content, tool calls, finish reason, usage;
// logprobs only if `with_logprobs`).
std::string AssembleCompletion(const std::vector<std::string>& chunks, bool with_logprobs);

// A chunk as the client asked for it: "" when it should not be sent (a usage-only chunk the client did not
// ask for); logprobs set to null when the client did not ask for them.
std::string ReplayChunk(std::string_view chunk, bool with_logprobs, bool with_usage);

struct DraftResult {
  FailoverOutcome outcome;          // the SLM call
  std::vector<std::string> chunks;  // its streamed answer, buffered
  Confidence confidence;
  bool over_ttft_budget = false;  // cancelled: no first token within the budget
  bool client_gone = false;       // the client hung up during the draft
  int64_t first_token_us = -1;    // from the start of the draft
};

// `slm_chain`: the local providers to draft with. `client_cancel`: the client connection's cancel state.
asio::awaitable<DraftResult> Draft(const ProviderSet& providers, const std::vector<Provider*>& slm_chain,
                                   const ChatRequest& req, const CascadeConfig& cfg, CancelState& client_cancel,
                                   const Clock& clock);

// The perm_* signals (route/choices.h) of a draft that answers a multiple-choice question: the last user message
// asked again on the in-process SLM in each rotation of its options (one prefill each; the conversation's prefix
// is cached), its letters scored as the answer's first token. Empty when that message offers no lettered options.
// `prompt_tokens`: what the prefills read that no cache held.
asio::awaitable<Result<std::map<std::string, double>>> ProbeOptions(LocalProvider& slm, const ChatRequest& req,
                                                                     const std::string& draft_text,
                                                                     CancelState& cancel, int64_t* prompt_tokens);

}  // namespace tandem
