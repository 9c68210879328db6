// Api: the gateway's routes, dispatched by method and path.
//
//   POST /v1/chat/completions   ChatHandler
//   GET  /v1/models             configured models plus the virtual "auto" and the aliases
//   GET  /health                the process is up
//   GET  /ready                 200 when at least one model can serve, 503 otherwise; per-model state
//   GET  /metrics               Prometheus text
//   /v1/agent/runs, /v1/workflows[/{name}/runs], /v1/runs[/{id}[/trace|/approve]]   RunApi (agents, workflows)
// Anything else is an OpenAI-style 404 (or 405 for a known path with the wrong method). Thread-safe.
#pragma once

#include "gateway/chat_handler.h"
#include "gateway/http_exchange.h"
#include "gateway/run_api.h"
#include "gateway/runtime.h"

namespace tandem {

class Api {
 public:
  // Without a run store, the run routes answer 404.
  Api(Runtime& rt, std::unique_ptr<agency::RunStore> runs)
      : rt_(rt), chat_(rt), runs_(runs ? std::make_unique<RunApi>(rt, std::move(runs)) : nullptr) {}
  asio::awaitable<void> handle(const HttpRequestIn& in, Responder& out);
  size_t max_body_bytes() const { return rt_.snapshot()->config.server.max_body_bytes; }

 private:
  Runtime& rt_;
  ChatHandler chat_;
  std::unique_ptr<RunApi> runs_;
};

}  // namespace tandem
