// AnthropicProvider: Anthropic's Messages API (POST {base_url}/messages), presented as OpenAI chat.
//
// Requests, answers, streaming events and tool calls are translated both ways by anthropic_codec. The key
// goes in x-api-key; anthropic-version is 2023-06-01. Thread-safe: holds only immutable configuration.
#pragma once

#include "providers/http_client.h"
#include "providers/provider.h"

namespace tandem {

class AnthropicProvider final : public Provider {
 public:
  static Result<std::unique_ptr<Provider>> Create(const ModelInfo& info);

  const ModelInfo& info() const override { return info_; }
  asio::awaitable<Status> chat(const ChatRequest& req, ChatSink& sink, CancelState& cancel,
                               CallStats& stats) override;

 private:
  AnthropicProvider(ModelInfo info, HttpTarget target) : info_(std::move(info)), target_(std::move(target)) {}
  ModelInfo info_;
  HttpTarget target_;
};

}  // namespace tandem
