#include "gateway/chat_handler.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "core/json_writer.h"
#include "gateway/routed_call.h"
#include <boost/asio/this_coro.hpp>

#include "gateway/shadow.h"
#include "ledger/cost.h"

namespace tandem {
namespace {

std::string Money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.8f", usd);
  return buf;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// A non-negative number from a routing header; absent = -1.
Result<double> RouteNumber(std::string_view value, const char* name) {
  if (value.empty()) return -1.0;
  std::string v(value);
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !(d >= 0) || d > 1e12)
    return Status(Code::kInvalidArgument, std::string(name) + ": expected a non-negative number, got '" + v + "'");
  return d;
}

const std::vector<std::string>& TrailerNames() {
  static const std::vector<std::string> names = {"x-tandem-cost-usd", "x-tandem-overhead-us"};
  return names;
}

// Streams provider output into the client connection; holds a non-streamed body until the ledger has it.
class GatewaySink final : public RoutedSink {
 public:
  GatewaySink(Responder& out, Headers headers, int64_t start_us, const Clock& clock)
      : out_(out), headers_(std::move(headers)), start_us_(start_us), clock_(clock) {}

  asio::awaitable<Status> body(std::string json) override {
    body_ = std::move(json);
    co_return Status::Ok();
  }

  asio::awaitable<Status> chunk(std::string_view json) override {
    if (!out_.started()) {
      ttft_us_ = clock_.mono_us() - start_us_;
      Headers h = headers_;
      h.emplace_back("x-tandem-model", model_);
      h.emplace_back("content-type", "text/event-stream");
      h.emplace_back("cache-control", "no-cache");
      // (No braced lists of string literals inside coroutines: GCC 12 rejects them.)
      Status s = co_await out_.start_stream(200, h, TrailerNames());
      if (!s.ok()) co_return s;
    }
    frame_.assign("data: ");
    frame_.append(json);
    frame_.append("\n\n");
    co_return co_await out_.write(frame_);
  }

  bool committed() const override { return out_.started(); }
  void attempt(const ModelInfo& m) override { model_ = m.name; }
  // Before the first byte: one more response header.
  void add_header(std::string name, std::string value) override {
    headers_.emplace_back(std::move(name), std::move(value));
  }
  const Headers& headers() const { return headers_; }

  std::string& held_body() { return body_; }
  int64_t ttft_us() const { return ttft_us_; }

 private:
  Responder& out_;
  Headers headers_;
  int64_t start_us_;
  const Clock& clock_;
  std::string model_;
  std::string body_;
  std::string frame_;
  int64_t ttft_us_ = 0;
};

}  // namespace

Result<std::string> Authenticate(const Config& config, std::string_view authorization) {
  if (config.keys.empty()) return std::string();
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return Status(Code::kUnauthenticated, "missing API key: send 'Authorization: Bearer <key>'");
  }
  std::string_view key = authorization.substr(kBearer.size());
  const ClientKey* found = nullptr;
  for (const auto& k : config.keys) {
    if (ConstantTimeEqual(k.key, key)) found = &k;
  }
  if (!found) return Status(Code::kUnauthenticated, "invalid API key");
  return found->id;
}

std::string NewRequestId() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t boot = static_cast<uint64_t>(SystemClock::Get().wall_us());
  char buf[48];
  std::snprintf(buf, sizeof buf, "req-%llx-%llx", (unsigned long long)boot,
                (unsigned long long)counter.fetch_add(1));
  return buf;
}

asio::awaitable<void> ChatHandler::Refuse(Responder& out, const Headers& headers, LedgerRecord row,
                                          const Status& why, int64_t start_us) {
  // Refused requests are recorded too: who sent what that could not be served, and why.
  row.http_status = why.http_status();
  row.status = why.code_name();
  row.error = why.message();
  row.total_us = row.overhead_us = rt_.clock().mono_us() - start_us;
  Record(row);
  co_await SendError(out, why, headers);
}

void ChatHandler::Record(const LedgerRecord& row) {
  Status journaled = rt_.ledger().append(row);  // durable from here on
  if (!journaled.ok()) {
    std::fprintf(stderr, "tandem: %s: ledger: %s\n", row.request_id.c_str(), journaled.message().c_str());
  }
  rt_.metrics().record(row);
}

asio::awaitable<void> ChatHandler::handle(const HttpRequestIn& in, Responder& out) {
  const Clock& clock = rt_.clock();
  const int64_t start_us = clock.mono_us();
  std::shared_ptr<const Snapshot> snap = rt_.snapshot();
  const Config& cfg = snap->config;
  std::string request_id = NewRequestId();
  Headers headers;
  headers.emplace_back("x-request-id", request_id);

  LedgerRecord row;
  row.ts_us = clock.wall_us();
  row.request_id = request_id;

  auto auth = Authenticate(cfg, in.header("authorization"));
  if (!auth.ok()) {
    co_await Refuse(out, headers, std::move(row), auth.status(), start_us);
    co_return;
  }
  row.key_id = auth.value();
  auto parsed = ParseChatRequest(in.body);
  if (!parsed.ok()) {
    co_await Refuse(out, headers, std::move(row), parsed.status(), start_us);
    co_return;
  }
  const ChatRequest& req = parsed.value();
  row.requested_model = req.model;
  row.stream = req.stream;
  auto tradeoff = RouteNumber(in.header("x-tandem-tradeoff"), "x-tandem-tradeoff");
  auto budget = RouteNumber(in.header("x-tandem-max-cost-usd"), "x-tandem-max-cost-usd");
  if (!tradeoff.ok() || !budget.ok()) {
    co_await Refuse(out, headers, std::move(row), tradeoff.ok() ? budget.status() : tradeoff.status(), start_us);
    co_return;
  }
  RouteHints hints{std::string(in.header("x-tandem-tier")), tradeoff.value(), budget.value()};

  rt_.metrics().in_flight(1);
  GatewaySink sink(out, headers, start_us, clock);
  RoutedOutcome o = co_await RoutedCall(*snap, req, hints, sink, out.cancel(), clock);
  rt_.metrics().in_flight(-1);
  if (o.refused) {
    co_await Refuse(out, headers, std::move(row), o.result.status, start_us);
    co_return;
  }
  const FailoverOutcome& result = o.result;
  if (o.routed) {
    const Provider* p = result.served ? result.served : o.first;
    rt_.metrics().decision(p ? p->info().name : o.decision.model, p ? TierName(p->info().tier) : "none",
                           o.decision.label());
  }
  if (o.cascade.applied && !o.cascade.verdict.empty())
    rt_.metrics().cascade(o.cascade.escalated ? "escalated" : "accepted");
  FillRow(*snap, o, row);
  row.ttft_us = req.stream ? sink.ttft_us() : 0;
  row.total_us = clock.mono_us() - start_us;
  row.overhead_us = std::max<int64_t>(0, row.total_us - result.stats.upstream_wait_us - o.encode_us);
  const int64_t overhead = row.overhead_us;
  Record(row);  // before the client's last bytes, so an answered request is always in the ledger
  if (o.shadow_sampled) {
    const auto exec = co_await asio::this_coro::executor;
    StartShadowJudgment(rt_, snap, req, o, row, exec);
  }

  Headers done = sink.headers();
  done.emplace_back("x-tandem-model", row.model);
  done.emplace_back("x-tandem-cost-usd", Money(row.cost_usd));
  done.emplace_back("x-tandem-overhead-us", std::to_string(overhead));
  if (result.status.code() == Code::kCancelled) co_return;
  if (out.started()) {  // streaming: trailers carry cost and overhead
    if (!result.status.ok()) {
      std::string ev = "data: " + ErrorBody(result.status) + "\n\n";
      co_await out.write(ev);
    } else {
      co_await out.write("data: [DONE]\n\n");
    }
    Headers trailers;
    trailers.emplace_back("x-tandem-cost-usd", Money(row.cost_usd));
    trailers.emplace_back("x-tandem-overhead-us", std::to_string(overhead));
    co_await out.finish(trailers);
    co_return;
  }
  if (!result.status.ok()) {
    co_await SendError(out, result.status, done);
    co_return;
  }
  if (req.stream) {  // a stream that produced no chunk at all
    done.emplace_back("content-type", "text/event-stream");
    co_await out.send(200, done, "data: [DONE]\n\n");
    co_return;
  }
  done.emplace_back("content-type", "application/json");
  co_await out.send(200, done, std::move(sink.held_body()));
}

}  // namespace tandem
