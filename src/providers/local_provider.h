// LocalProvider: a model served in-process by Tandem's engine from a GGUF file (`provider: local`).
//
// Each GGUF file gets one LocalEngine: the loaded model, a dedicated engine thread with its own team of compute
// threads, and `slots` KV-cache sessions generated together by continuous batching (engine/generate/batch.h):
// every step is one forward over all active requests, a new request joins between steps, a long prompt is
// prefilled a chunk per step beside the running decodes, and a request's greedy output does not depend on what
// else runs. A request takes the free slot whose cache shares the longest prefix with its prompt (a follow-up
// turn, a shared system prompt), so that prefix is not computed again (usage.prompt_tokens_details
// .cached_tokens). A request is rendered with the model's chat template, queued, and generated on the engine
// thread; text comes back to the request's event loop through a wake-up timer, so network threads never block
// on inference. When every slot is busy and `queue` requests wait, a request is refused at once (503). A client
// hang-up, or a timeout, frees its slot before the next step. Offered tools, the model's answer is constrained
// to calls of those tools, at most eight (one under `parallel_tool_calls: false`), and ends at a call that
// repeats an earlier one. Time waiting on the engine is reported as model time (CallStats::upstream_wait_us),
// not gateway overhead. LocalEngines are shared by path and settings across config reloads.
// Thread-safety: LocalProvider is immutable and shared; LocalEngine's queue is internally synchronized.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "providers/provider.h"

namespace tandem {

class LocalEngine;

// What ScoreChoices() found: each choice's log-probability as the answer's start, and what it cost.
struct ChoiceScores {
  std::vector<double> logprob;
  int64_t prompt_tokens = 0, cached_tokens = 0, extra_tokens = 0;
};

class LocalProvider final : public Provider {
 public:
  // Loads (or reuses) the engine for info.gguf_path. Errors name the file and what is wrong with it.
  static Result<std::unique_ptr<Provider>> Create(const ModelInfo& info);

  const ModelInfo& info() const override { return info_; }
  asio::awaitable<Status> chat(const ChatRequest& req, ChatSink& sink, CancelState& cancel,
                               CallStats& stats) override;

  // The SLM-scored router's features: the request's prompt, rendered as chat() renders it, run through the model
  // on the engine thread (queued like any request) and pooled (engine/generate/embed.h). Afterwards the KV cache
  // holds that prompt, so a chat() for the same request that comes next recomputes only its last token.
  asio::awaitable<Result<std::vector<float>>> Encode(const ChatRequest& req, CancelState& cancel,
                                                     int64_t* prompt_tokens = nullptr);
  // The described-routes router: `turns` rendered with the chat template and each choice scored as the start of
  // the answer (engine/generate/score.h), at the cost of one prefill (a cached prefix is reused).
  asio::awaitable<Result<ChoiceScores>> ScoreChoices(const std::vector<ChatMessage>& turns,
                                                     const std::vector<std::string>& choices, CancelState& cancel);
  // Which model Encode() uses (engine::EncoderId): a trained head must name the same.
  std::string encoder_id() const;

 private:
  LocalProvider(ModelInfo info, std::shared_ptr<LocalEngine> engine)
      : info_(std::move(info)), engine_(std::move(engine)) {}
  ModelInfo info_;
  std::shared_ptr<LocalEngine> engine_;
};

}  // namespace tandem
