#include "cli/gateway_client.h"

// clang-format off
#include "core/asio.h"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
// clang-format on
#include <cstdio>

#include "ledger/cost.h"
#include "providers/http_client.h"
#include "route/features.h"

namespace tandem {
namespace {

class CaptureSink final : public ChatSink {
 public:
  asio::awaitable<Status> body(std::string json) override {
    body_ = std::move(json);
    co_return Status::Ok();
  }
  asio::awaitable<Status> chunk(std::string_view) override { co_return Status::Ok(); }
  bool committed() const override { return false; }
  std::string body_;
};

// Runs one coroutine to its end on `io` (stopping it then: pooled keep-alive connections keep the loop busy).
template <class F>
void RunOn(asio::io_context& io, F&& body) {
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await body();
    io.stop();
  }, asio::detached);
  io.restart();
  io.run();
}

}  // namespace

std::shared_ptr<const Snapshot> LoadSnapshot(const std::string& config_path, const EnvLookup& env) {
  auto config = LoadConfig(config_path, env);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return nullptr;
  }
  auto snap = BuildSnapshot(std::move(config.value()), SystemClock::Get());
  if (!snap.ok()) {
    std::fprintf(stderr, "%s\n", snap.status().message().c_str());
    return nullptr;
  }
  return snap.value();
}

GatewayClient::~GatewayClient() { ClearConnectionPool(); }

GatewayClient::Answer GatewayClient::Chat(const ChatRequest& req) {
  Answer a;
  std::string target = req.model;
  bool local_only = false;
  if (target == "auto" || snap_.config.routing.aliases.count(target)) {
    Features f = ComputeFeatures(req, *snap_.pii, "");
    Decision d = snap_.policy->decide(req, f);
    target = d.model;
    local_only = d.local_only;
  }
  a.model = target;
  std::vector<std::string> notes;
  auto chain = snap_.providers->chain(target, local_only, &notes);
  if (chain.empty()) {
    a.status = Status(Code::kUnavailable, notes.empty() ? "no model available" : notes.front());
    return a;
  }
  CaptureSink sink;
  FailoverOutcome result;
  RunOn(io_, [&]() -> asio::awaitable<void> {
    CancelState cancel;
    result = co_await snap_.providers->Call(chain, req, sink, cancel);
  });
  a.status = result.status;
  a.body = std::move(sink.body_);
  if (result.served) {
    a.model = result.served->info().name;
    a.cost_usd = CostUsd(result.served->info(), result.stats.usage);
  }
  return a;
}

Result<std::vector<float>> GatewayClient::Encode(const ChatRequest& req) {
  if (!snap_.slm_encoder) return Status(Code::kInvalidArgument, "routing.slm_scored is not configured");
  Result<std::vector<float>> pooled = Status(Code::kInternal, "not run");
  RunOn(io_, [&]() -> asio::awaitable<void> {
    CancelState cancel;
    pooled = co_await snap_.slm_encoder->Encode(req, cancel);
  });
  return pooled;
}

}  // namespace tandem
