// Provider: one configured model that can answer a chat request, and the sink its answer flows into.
//
// A Provider turns a ChatRequest into OpenAI-format output: either one complete response body
// (non-streaming) or a sequence of chat.completion.chunk JSON objects (streaming), pushed into a ChatSink
// as they arrive — nothing is buffered that need not be. Providers run on the calling worker's event loop
// (Asio coroutines); a Provider object is shared by all workers and must be thread-safe. Errors are
// returned as Status values: a transport failure is kUpstream, a timeout kDeadlineExceeded, an HTTP error
// from the upstream carries its HTTP status (upstream_http) and the upstream's message.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/asio.h"
#include "core/chat_request.h"
#include "core/model_info.h"
#include "core/status.h"

namespace tandem {

namespace asio = boost::asio;

// Where a provider's answer goes. Implemented by the gateway (client connection) and by tests.
class ChatSink {
 public:
  virtual ~ChatSink() = default;
  // Non-streaming: the complete OpenAI-format response body.
  virtual asio::awaitable<Status> body(std::string json) = 0;
  // Streaming: one chat.completion.chunk JSON object (without the SSE framing).
  virtual asio::awaitable<Status> chunk(std::string_view json) = 0;
  // True once any byte of the answer has reached the client: from then on nothing may be retried.
  virtual bool committed() const = 0;
  // Told before each try which model is about to answer (failover may change it).
  virtual void attempt(const ModelInfo& model) { (void)model; }
};

// Cooperative cancellation, used within one worker thread (not thread-safe by design: the client
// connection and the upstream call share one event loop).
class CancelState {
 public:
  bool cancelled() const { return cancelled_; }
  void cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    if (hook_) hook_();
  }
  // The running upstream call registers how to abort itself (close its socket); cleared after.
  void set_hook(std::function<void()> hook) { hook_ = std::move(hook); }

 private:
  bool cancelled_ = false;
  std::function<void()> hook_;
};

// What one provider call consumed.
struct CallStats {
  Usage usage;
  int64_t upstream_wait_us = 0;  // time spent waiting on the upstream's bytes
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual const ModelInfo& info() const = 0;
  virtual asio::awaitable<Status> chat(const ChatRequest& req, ChatSink& sink, CancelState& cancel,
                                       CallStats& stats) = 0;
};

}  // namespace tandem
