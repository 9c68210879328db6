#include "gateway/chat_handler.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "core/json_writer.h"
#include "gateway/cascade.h"
#include "ledger/cost.h"
#include "route/features.h"

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

// Header values must stay on one line and in ASCII.
std::string HeaderSafe(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n' || static_cast<unsigned char>(c) >= 0x80) c = ' ';
  }
  if (s.size() > 1024) s.resize(1024);
  return s;
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
class GatewaySink final : public ChatSink {
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
  void add_header(std::string name, std::string value) { headers_.emplace_back(std::move(name), std::move(value)); }

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

// What the cascade did, for the ledger row and the metrics.
struct CascadeNote {
  bool applied = false;
  bool escalated = false;
  std::string verdict;    // e.g. "confidence 0.31 < 0.50 (mean of 12 tokens)"
  double draft_cost = 0;  // what the SLM draft cost (USD), on top of the served answer when escalated
};

// The SLM drafts into a buffer; a confident draft is replayed to the client, an unconfident one is
// discarded and the LLM tier answers. The client never sees bytes from both.
asio::awaitable<FailoverOutcome> RunCascade(const Snapshot& snap, const ChatRequest& req,
                                            const std::vector<Provider*>& local, GatewaySink& sink,
                                            Responder& out, const Clock& clock, CascadeNote* note) {
  const CascadeConfig& cc = snap.config.routing.cascade;
  note->applied = true;
  DraftResult dr = co_await Draft(*snap.providers, local, req, cc, out.cancel(), clock);
  if (dr.client_gone) co_return dr.outcome;
  if (dr.outcome.served && dr.outcome.status.ok())
    note->draft_cost = CostUsd(dr.outcome.served->info(), dr.outcome.stats.usage);
  char buf[192];
  bool accept;
  if (!dr.outcome.status.ok()) {
    accept = false;
    if (dr.over_ttft_budget) {
      std::snprintf(buf, sizeof buf, "no first token within %lld ms", (long long)cc.ttft_budget_ms);
      note->verdict = buf;
    } else {
      note->verdict = "draft failed: " + dr.outcome.status.message();
    }
  } else if (!dr.confidence.has_logprobs) {
    accept = !cc.escalate_without_logprobs;
    note->verdict = "the draft came without logprobs";
  } else {
    accept = dr.confidence.value >= cc.min_confidence;
    std::snprintf(buf, sizeof buf, "confidence %.3f %s %.3f (%s of %d tokens)", dr.confidence.value,
                  accept ? ">=" : "<", cc.min_confidence, cc.measure.c_str(), dr.confidence.tokens);
    note->verdict = buf;
  }
  std::vector<Provider*> llm;
  if (!accept) {
    std::vector<std::string> notes;
    llm = snap.providers->chain(snap.policy->resolve("llm"), false, &notes);
    if (llm.empty() && dr.outcome.status.ok()) {
      accept = true;  // a doubtful draft beats no answer
      note->verdict += "; escalation unavailable (" + (notes.empty() ? std::string("no LLM") : notes.front()) + ")";
    }
  }
  if (accept || llm.empty()) {
    if (!dr.outcome.status.ok()) co_return dr.outcome;  // nothing to replay and nowhere to escalate
    sink.add_header("x-tandem-cascade", HeaderSafe("accepted: " + note->verdict));
    sink.attempt(dr.outcome.served->info());
    const std::string* lp = req.field("logprobs");
    const bool with_logprobs = lp && *lp == "true";
    if (req.stream) {
      for (const auto& chunk : dr.chunks) {
        std::string c = ReplayChunk(chunk, with_logprobs, req.include_usage);
        if (c.empty()) continue;
        Status s = co_await sink.chunk(c);
        if (!s.ok()) {
          dr.outcome.status = s;
          break;
        }
      }
    } else {
      co_await sink.body(AssembleCompletion(dr.chunks, with_logprobs));
    }
    co_return dr.outcome;
  }
  note->escalated = true;
  sink.add_header("x-tandem-cascade", HeaderSafe("escalated: " + note->verdict));
  FailoverOutcome o = co_await snap.providers->Call(llm, req, sink, out.cancel());
  o.attempts += dr.outcome.attempts;
  o.stats.upstream_wait_us += dr.outcome.stats.upstream_wait_us;
  co_return o;
}

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

void FillOutcome(const Snapshot& snap, const FailoverOutcome& result, const ModelInfo* chosen,
                 const std::string& fallback_model, LedgerRecord& row) {
  const ModelInfo* served = result.served ? &result.served->info() : chosen;
  row.model = served ? served->name : fallback_model;
  row.tier = served ? TierName(served->tier) : "";
  row.locality = served ? LocalityName(served->locality) : "";
  row.prompt_tokens = result.stats.usage.prompt_tokens;
  row.completion_tokens = result.stats.usage.completion_tokens;
  row.usage_estimated = result.stats.usage.estimated;
  row.cost_usd = served ? CostUsd(*served, result.stats.usage) : 0;
  row.baseline_usd = snap.baseline ? CostUsd(*snap.baseline, result.stats.usage) : row.cost_usd;
  row.attempts = result.attempts;
  row.http_status = result.status.ok() ? 200 : result.status.http_status();
  row.status = result.status.code_name();
  row.error = result.status.ok() ? "" : result.status.message();
  if (!result.log.empty() && result.status.ok()) {
    std::string failed;
    for (const auto& l : result.log) failed += (failed.empty() ? "" : "; ") + l;
    row.reasons += "; failover: " + failed;
  }
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
  const bool routed = req.model == "auto" || cfg.routing.aliases.count(req.model) > 0;
  if (!routed && !cfg.find(req.model)) {
    Status unknown(Code::kNotFound,
                   "The model '" + req.model +
                       "' does not exist; GET /v1/models lists the configured models and 'auto'");
    co_await Refuse(out, headers, std::move(row), unknown, start_us);
    co_return;
  }

  Features f = ComputeFeatures(req, *snap->pii, in.header("x-tandem-tier"));
  auto tradeoff = RouteNumber(in.header("x-tandem-tradeoff"), "x-tandem-tradeoff");
  auto budget = RouteNumber(in.header("x-tandem-max-cost-usd"), "x-tandem-max-cost-usd");
  if (!tradeoff.ok() || !budget.ok()) {
    co_await Refuse(out, headers, std::move(row), tradeoff.ok() ? budget.status() : tradeoff.status(), start_us);
    co_return;
  }
  f.tradeoff = tradeoff.value();
  f.max_cost_usd = budget.value();
  Decision d = snap->policy->decide(req, f);
  int64_t encode_us = 0;
  if (snap->slm_head && routed && (d.rule.empty() || d.rule == "learned") && !d.local_only &&
      f.header_tier.empty()) {
    // The SLM-scored router: the small model encodes the prompt (its KV cache then holds it, for the answer).
    const int64_t t0 = clock.mono_us();
    int64_t tokens = 0;
    auto pooled = co_await snap->slm_encoder->Encode(req, out.cancel(), &tokens);
    encode_us = clock.mono_us() - t0;
    if (pooled.ok()) {
      const double score = snap->slm_head->score(pooled.value());
      const double threshold = cfg.routing.slm_scored_threshold;
      char why[160];
      std::snprintf(why, sizeof why, "slm-scored router: score %.3f %s threshold %.3f (%lld prompt tokens, %.1f ms)",
                    score, score >= threshold ? ">=" : "<", threshold, (long long)tokens, encode_us / 1000.0);
      d.reasons.push_back(why);
      d.rule = "slm-scored";
      d.score = score;
      d.model = snap->policy->resolve(score >= threshold ? "llm" : "slm");
    } else {
      d.reasons.push_back("slm-scored router unavailable: " + pooled.status().message());
    }
  }
  std::vector<std::string> notes;
  std::vector<Provider*> chain = snap->providers->chain(d.model, d.local_only, &notes);
  std::string escalation;
  const ModelInfo* chosen = cfg.find(d.model);
  if (chain.empty() && chosen && chosen->tier == Tier::kLlm) {
    escalation = "unavailable: " + (notes.empty() ? std::string("no LLM available") : notes.front());
    std::string slm = snap->policy->resolve("slm");
    d.reasons.push_back("escalation to " + d.model + " unavailable; answered by " + slm);
    chain = snap->providers->chain(slm, d.local_only, &notes);
  }
  std::string reasons = HeaderSafe(d.reasons_joined());
  headers.emplace_back("x-tandem-route", reasons);
  if (!escalation.empty()) headers.emplace_back("x-tandem-escalation", HeaderSafe(escalation));

  row.reasons = d.reasons_joined();
  row.rule = d.rule;
  for (const auto& k : f.pii) row.pii += (row.pii.empty() ? "" : ",") + k;
  row.local_only = d.local_only;
  row.escalation = escalation;

  rt_.metrics().in_flight(1);
  GatewaySink sink(out, headers, start_us, clock);
  FailoverOutcome result;
  CascadeNote cascade;
  if (chain.empty()) {
    std::string why = notes.empty() ? "no model can serve this request" : notes.back();
    result.status =
        Status(d.local_only ? Code::kPermissionDenied : Code::kUnavailable,
               d.local_only
                   ? "privacy policy keeps this request local, and no local model is available (" + why + ")"
                   : why);
  } else {
    // The cascade: routed requests bound for the SLM tier are drafted there first, unless the client pinned
    // the tier or privacy keeps them local (then there is nowhere to escalate to).
    std::vector<Provider*> local;
    if (cfg.routing.cascade.enabled && routed && !d.local_only && f.header_tier.empty()) {
      for (Provider* p : chain)
        if (p->info().tier == Tier::kSlm) local.push_back(p);
      if (!chain.front() || chain.front()->info().tier != Tier::kSlm) local.clear();
    }
    if (!local.empty()) {
      result = co_await RunCascade(*snap, req, local, sink, out, clock, &cascade);
    } else {
      result = co_await snap->providers->Call(chain, req, sink, out.cancel());
    }
  }
  if (routed) {
    const Provider* p = result.served ? result.served : (chain.empty() ? nullptr : chain.front());
    rt_.metrics().decision(p ? p->info().name : d.model, p ? TierName(p->info().tier) : "none",
                           d.rule.empty() ? "default" : d.rule);
  }
  if (cascade.applied && !cascade.verdict.empty()) {
    if (!out.started())
      headers.emplace_back("x-tandem-cascade",
                           HeaderSafe((cascade.escalated ? "escalated: " : "accepted: ") + cascade.verdict));
    rt_.metrics().cascade(cascade.escalated ? "escalated" : "accepted");
    row.reasons += std::string("; cascade ") + (cascade.escalated ? "escalated: " : "accepted: ") + cascade.verdict;
    if (cascade.escalated) row.escalation = "cascade: " + cascade.verdict;
  }

  FillOutcome(*snap, result, chosen, d.model, row);
  if (cascade.escalated) row.cost_usd += cascade.draft_cost;
  if (!snap->baseline) row.baseline_usd = row.cost_usd;
  row.ttft_us = req.stream ? sink.ttft_us() : 0;
  row.total_us = clock.mono_us() - start_us;
  row.overhead_us = std::max<int64_t>(0, row.total_us - result.stats.upstream_wait_us - encode_us);
  const int64_t overhead = row.overhead_us;
  Record(row);  // before the client's last bytes, so an answered request is always in the ledger
  rt_.metrics().in_flight(-1);

  Headers done = headers;
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
