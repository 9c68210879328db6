#include "gateway/gateway_client.h"

// clang-format off
#include "core/asio.h"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on
#include <cstdio>

#include "gateway/chat_handler.h"
#include "gateway/routed_call.h"
#include "gateway/shadow.h"
#include "providers/http_client.h"

namespace tandem {
namespace {

class CaptureSink final : public RoutedSink {
 public:
  void add_header(std::string, std::string) override {}  // the row and the Answer carry what headers would
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

GatewayClient::Answer GatewayClient::Chat(const ChatRequest& req, std::chrono::milliseconds timeout) {
  Answer a;
  const Clock& clock = SystemClock::Get();
  const int64_t start_us = clock.mono_us();
  LedgerRecord& row = a.row;
  row.ts_us = clock.wall_us();
  row.request_id = NewRequestId();
  row.requested_model = req.model;
  CaptureSink sink;
  const RouteHints hints;  // (a named object: GCC 12 frees a temporary's string twice in a co_await expression)
  RoutedOutcome o;
  bool timed_out = false;
  RunOn(io_, [&]() -> asio::awaitable<void> {
    CancelState cancel;
    asio::steady_timer timer(io_);
    if (timeout.count() > 0) {
      timer.expires_after(timeout);
      timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: the call ended first (the frame may be gone; touch nothing)
        timed_out = true;
        cancel.cancel();
      });
    }
    o = co_await RoutedCall(snap_, req, hints, sink, cancel, clock);
    timer.cancel();
  });
  if (timed_out && !o.result.status.ok())
    o.result.status = Status(Code::kDeadlineExceeded, "the model did not answer within " +
                                                          std::to_string(timeout.count()) + " ms");
  a.status = o.result.status;
  a.body = std::move(sink.body_);
  FillRow(snap_, o, row);
  a.model = row.model;
  a.cost_usd = row.cost_usd;
  row.total_us = clock.mono_us() - start_us;
  row.overhead_us = std::max<int64_t>(0, row.total_us - o.result.stats.upstream_wait_us - o.encode_us);
  std::shared_ptr<const Snapshot> snap = snap_.weak_from_this().lock();
  if (o.shadow_sampled && rt_ && snap) {
    auto call = std::make_shared<std::pair<ChatRequest, RoutedOutcome>>(req, std::move(o));
    a.judge = [rt = rt_, snap = std::move(snap), call](const LedgerRecord& committed) {
      StartShadowJudgment(*rt, snap, call->first, call->second, committed, rt->background());
    };
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

Result<RoutePick> GatewayClient::PickRoute(const ChatRequest& req) {
  Result<RoutePick> pick = Status(Code::kInternal, "not run");
  RunOn(io_, [&]() -> asio::awaitable<void> {
    CancelState cancel;
    pick = co_await PickDescribedRoute(snap_, req, cancel, SystemClock::Get());
  });
  return pick;
}

}  // namespace tandem
