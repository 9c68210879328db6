// GatewayClient: the gateway's request path — RoutedCall (gateway/routed_call.h: every routing stage, the
// SLM-scored router and the cascade included, the escalation fallback, failover) and the price — run
// synchronously, for the callers that are not HTTP requests (agents, workflows, eval-tools, calibrate). A request
// for "auto" or an alias is routed exactly as `tandem serve` routes it; a configured model name is called
// directly (privacy still applies). The coroutines run on a private event loop; the
// pooled upstream connections that belong to it are closed before it goes. Given the serving Runtime, a call that
// routing.shadow samples is judged like a chat completion (gateway/shadow.h) once the caller has committed its
// row, on the Runtime's background loop. One per command; not thread-safe.
#pragma once

// clang-format off
#include "core/asio.h"
#include <boost/asio/io_context.hpp>
// clang-format on
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/routed_call.h"
#include "gateway/runtime.h"

namespace tandem {

// Loads the config and builds everything serving would (rules, providers, the engine); prints the error, if any,
// and returns null. `env` looks up API keys (ProcessEnv(), or a stand-in when no call will need them).
std::shared_ptr<const Snapshot> LoadSnapshot(const std::string& config_path, const EnvLookup& env = ProcessEnv());

class GatewayClient {
 public:
  explicit GatewayClient(const Snapshot& snap, Runtime* rt = nullptr) : snap_(snap), rt_(rt) {}
  ~GatewayClient();
  GatewayClient(const GatewayClient&) = delete;
  GatewayClient& operator=(const GatewayClient&) = delete;

  struct Answer {
    Status status;
    std::string body;   // the non-streamed OpenAI response
    std::string model;  // the model that answered (or was to answer)
    double cost_usd = 0;
    LedgerRecord row;  // as the gateway would record the call (request_id and ts set; the caller may rename)
    // Set when routing.shadow sampled the call and a Runtime is at hand: starts the judgment of the row as the
    // caller committed it (its final request id). Calling it is the caller's choice; it never blocks.
    std::function<void(const LedgerRecord&)> judge;
  };
  // A timeout above zero cancels the call when it fires (status kDeadlineExceeded).
  Answer Chat(const ChatRequest& req, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // The SLM-scored router's features for a request (routing.slm_scored's model).
  Result<std::vector<float>> Encode(const ChatRequest& req);
  // The described route the SLM picks for `req` (routed_call.h), without calling the chosen model.
  Result<RoutePick> PickRoute(const ChatRequest& req);

 private:
  const Snapshot& snap_;
  Runtime* rt_;
  asio::io_context io_;
};

}  // namespace tandem
