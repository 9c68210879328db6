// Runtime: everything a running gateway shares, wired once by `tandem serve`.
//
// The part that a config reload replaces — config, routing policy, providers, PII detector — lives in an
// immutable Snapshot; requests take a shared_ptr to the current one when they start and keep it to the
// end, so SIGHUP swaps configuration without disturbing requests in flight. The ledger, metrics and clock
// live as long as the process. Thread-safe.
#pragma once

// clang-format off
#include "core/asio.h"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
// clang-format on
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/clock.h"
#include "ledger/ledger.h"
#include "ledger/metrics.h"
#include "providers/local_provider.h"
#include "providers/registry.h"
#include "route/confidence_router.h"
#include "route/pii.h"
#include "route/rules_policy.h"
#include "route/slm_head.h"

namespace tandem {

// The SLM's bias among the route names, measured once on a content-free request and subtracted from every
// pick (contextual calibration). Filled on first use; `mu` guards both fields.
struct RoutePrior {
  std::mutex mu;
  bool ready = false;
  std::vector<double> logprob;
};

// Owned by a shared_ptr (BuildSnapshot), so work that outlives a call holding `const Snapshot&` can keep it
// alive through weak_from_this().
struct Snapshot : std::enable_shared_from_this<Snapshot> {
  Config config;
  std::unique_ptr<RulesPolicy> policy;
  std::shared_ptr<ProviderSet> providers;
  std::unique_ptr<PiiDetector> pii;
  const ModelInfo* baseline = nullptr;  // the default LLM, for the all-LLM baseline cost
  // SLM-scored router (routing.slm_scored): the head, and the in-process model that encodes for it.
  std::unique_ptr<SlmHead> slm_head;
  LocalProvider* slm_encoder = nullptr;
  // The cascade's calibrated confidence router (routing.cascade.router), or null; when it reads the perm_*
  // signals, the in-process SLM that asks a multiple-choice draft's question again in each rotation.
  std::unique_ptr<ConfidenceRouter> cascade_router;
  LocalProvider* cascade_prober = nullptr;
  uint64_t generation = 0;  // distinct per built snapshot (a reload makes a new one)
  // Described routes (routing.routes): the in-process SLM that picks one, and the routing question it is asked.
  LocalProvider* route_scorer = nullptr;
  std::string route_question;
  std::vector<std::string> route_names;     // the choices scored: the routes' names
  std::vector<ChatMessage> route_examples;  // worked examples (routes[].examples) as turns after the question
  std::shared_ptr<RoutePrior> route_prior;  // the names' bias on a content-free request, found on first use
};

// The described-routes system prompt: each route's name and description, then "reply with the category's name
// only". Fixed per config, so the engine's cached prefix covers it; the user's last message follows as its own
// turn (routed_call.cpp), and each route name is scored as the start of the answer.
std::string RouteQuestion(const std::vector<DescribedRoute>& routes);

// Builds a snapshot from a config: compiles the rules, creates the providers.
Result<std::shared_ptr<const Snapshot>> BuildSnapshot(Config config, const Clock& clock);

class Runtime {
 public:
  Runtime(std::shared_ptr<const Snapshot> snap, std::unique_ptr<Ledger> ledger, const Clock& clock)
      : snap_(std::move(snap)), ledger_(std::move(ledger)), clock_(clock) {}
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  std::shared_ptr<const Snapshot> snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return snap_;
  }
  void replace(std::shared_ptr<const Snapshot> snap) {
    std::lock_guard<std::mutex> lock(mu_);
    snap_ = std::move(snap);
  }
  Ledger& ledger() { return *ledger_; }
  Metrics& metrics() { return metrics_; }
  std::atomic<int>& shadow_in_flight() { return shadow_in_flight_; }  // routing.shadow judgments running
  const Clock& clock() const { return clock_; }
  // An event loop of the Runtime's own, on one thread started at first use, for background work begun off the
  // network threads (the shadow judgments of agent and workflow steps). Work still on it when the Runtime goes
  // is abandoned.
  asio::any_io_executor background();

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snap_;
  std::unique_ptr<Ledger> ledger_;
  Metrics metrics_;
  std::atomic<int> shadow_in_flight_{0};
  const Clock& clock_;
  std::mutex background_mu_;  // guards the three below
  std::unique_ptr<asio::io_context> background_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> background_work_;
  std::thread background_thread_;
};

}  // namespace tandem
