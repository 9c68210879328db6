// ChatHandler: POST /v1/chat/completions, end to end.
//
// authenticate -> parse and validate -> resolve the model (a configured name, an alias, or "auto") ->
// features and route decision -> provider chain (privacy-filtered) -> failover call streaming into the
// client -> ledger row journaled -> last bytes to the client. The row is written before the final bytes
// ("data: [DONE]" or the response body) leave, so an answered request is always recorded.
// Answers carry x-tandem-model, x-tandem-route, x-tandem-cost-usd and x-tandem-overhead-us (streams send
// the last two as HTTP trailers, since they are only known at the end). Thread-safe; one call per request.
#pragma once

#include "gateway/http_exchange.h"
#include "gateway/runtime.h"

namespace tandem {

class ChatHandler {
 public:
  explicit ChatHandler(Runtime& rt) : rt_(rt) {}
  asio::awaitable<void> handle(const HttpRequestIn& in, Responder& out);

 private:
  // Journals the row and counts it in the metrics.
  void Record(const LedgerRecord& row);
  asio::awaitable<void> Refuse(Responder& out, const Headers& headers, LedgerRecord row, const Status& why,
                               int64_t start_us);
  Runtime& rt_;
};

// A request id unique in this process and across restarts: "req-<boot time>-<counter>".
std::string NewRequestId();

// Finds the client key id for an Authorization header; "" when auth is off. Constant-time comparison.
Result<std::string> Authenticate(const Config& config, std::string_view authorization);

}  // namespace tandem
