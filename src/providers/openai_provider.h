// OpenAiProvider: any OpenAI-compatible /chat/completions upstream (OpenAI, vLLM, llama.cpp server,
// Ollama's /v1, LiteLLM).
//
// The client's request goes upstream verbatim except for `model` (the configured upstream id) and, for
// streams, stream_options.include_usage (forced on so tokens are metered; the usage chunk is passed on
// only if the client asked for it). Answers and chunks come back byte for byte. Thread-safe: holds only
// immutable configuration.
#pragma once

#include "providers/http_client.h"
#include "providers/provider.h"

namespace tandem {

class OpenAiProvider final : public Provider {
 public:
  static Result<std::unique_ptr<Provider>> Create(const ModelInfo& info);

  const ModelInfo& info() const override { return info_; }
  asio::awaitable<Status> chat(const ChatRequest& req, ChatSink& sink, CancelState& cancel,
                               CallStats& stats) override;

 private:
  OpenAiProvider(ModelInfo info, HttpTarget target) : info_(std::move(info)), target_(std::move(target)) {}
  ModelInfo info_;
  HttpTarget target_;
};

// Builds the Status for a non-2xx upstream answer, carrying the upstream's own error message.
Status UpstreamHttpError(const ModelInfo& m, const HttpResult& r);

// Reads "usage" from an OpenAI response or chunk; false if absent or null.
bool ParseOpenAiUsage(std::string_view json, Usage& usage);

}  // namespace tandem
