// ProviderSet: every configured model's Provider and CircuitBreaker, and the failover loop over them.
//
// chain() lists the models that may serve a request, in order: the chosen model, then its configured
// fallbacks (transitively, each once). With `local_only`, cloud models are dropped from the chain — this
// is the one place privacy is enforced for fallbacks, so no later step can reach the cloud. Unavailable
// models (no API key) are dropped and noted.
//
// Call() tries the chain: per model up to retry.max_attempts tries with exponential backoff and full
// jitter (a 429 waits the full backoff cap), skipping models whose breaker is open, retrying only on
// connection errors, timeouts, 429 and 5xx, and only while nothing has reached the client. Thread-safe;
// Call() runs on the caller's event loop.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "providers/breaker.h"
#include "providers/provider.h"

namespace tandem {

struct FailoverOutcome {
  Status status;
  const Provider* served = nullptr;  // the provider that answered (or was tried last)
  CallStats stats;
  int attempts = 0;
  std::vector<std::string> log;  // one line per failed try, for reasons and the ledger
};

class ProviderSet {
 public:
  static Result<std::shared_ptr<ProviderSet>> Build(const Config& config, const Clock& clock);

  Provider* get(const std::string& model) const;
  CircuitBreaker* breaker(const std::string& model) const;
  std::vector<Provider*> chain(const std::string& model, bool local_only,
                               std::vector<std::string>* notes) const;
  std::vector<Provider*> all() const;

  asio::awaitable<FailoverOutcome> Call(const std::vector<Provider*>& chain, const ChatRequest& req,
                                        ChatSink& sink, CancelState& cancel) const;

 private:
  ProviderSet(const Clock& clock) : clock_(clock) {}
  struct Entry {
    std::unique_ptr<Provider> provider;
    std::unique_ptr<CircuitBreaker> breaker;
  };
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;
  const Clock& clock_;
};

// True when a failed try may be retried (on the same model or the next one).
bool Retriable(const Status& s);

}  // namespace tandem
