// CircuitBreaker: stops sending traffic to an upstream that keeps failing.
//
// Closed: every call is allowed; `failure_threshold` consecutive failures open it. Open: calls are
// refused until `cooldown_ms` has passed, then one probe is let through (half-open); its success closes
// the breaker, its failure opens it for another cool-down. Thread-safe.
#pragma once

#include <mutex>

#include "core/clock.h"
#include "core/model_info.h"

namespace tandem {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  CircuitBreaker(BreakerPolicy policy, const Clock& clock) : policy_(policy), clock_(clock) {}

  bool allow();
  void success();
  void failure();
  // The call ended without telling anything about the upstream (the client left): frees a half-open probe.
  void abandon();
  State state() const;

 private:
  BreakerPolicy policy_;
  const Clock& clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t opened_us_ = 0;
  bool probe_in_flight_ = false;
};

const char* BreakerStateName(CircuitBreaker::State s);

}  // namespace tandem
