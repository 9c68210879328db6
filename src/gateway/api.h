// Api: the gateway's routes, dispatched by method and path.
//
//   POST /v1/chat/completions   ChatHandler
//   GET  /v1/models             configured models plus the virtual "auto" and the aliases
//   GET  /health                the process is up
//   GET  /ready                 200 when at least one model can serve, 503 otherwise; per-model state
//   GET  /metrics               Prometheus text
// Anything else is an OpenAI-style 404 (or 405 for a known path with the wrong method). Thread-safe.
#pragma once

#include "gateway/chat_handler.h"
#include "gateway/http_exchange.h"
#include "gateway/runtime.h"

namespace tandem {

class Api {
 public:
  explicit Api(Runtime& rt) : rt_(rt), chat_(rt) {}
  asio::awaitable<void> handle(const HttpRequestIn& in, Responder& out);
  size_t max_body_bytes() const { return rt_.snapshot()->config.server.max_body_bytes; }

 private:
  Runtime& rt_;
  ChatHandler chat_;
};

}  // namespace tandem
