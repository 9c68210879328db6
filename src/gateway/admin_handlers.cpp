#include <ctime>

#include "core/json_writer.h"
#include "gateway/api.h"

namespace tandem {

std::string ErrorBody(const Status& s) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("error").begin_object().kv("message", s.message()).kv("type", s.error_type());
  w.key("param").null().kv("code", s.code_name()).end_object().end_object();
  return out;
}

asio::awaitable<Status> SendError(Responder& r, const Status& s, Headers extra) {
  extra.emplace_back("content-type", "application/json");
  if (s.http_status() == 503) extra.emplace_back("retry-after", "1");  // busy or unavailable: try again soon
  co_return co_await r.send(s.http_status(), extra, ErrorBody(s));
}

namespace {

std::string ModelsBody(const Snapshot& snap) {
  std::string out;
  JsonWriter w(out);
  int64_t created = static_cast<int64_t>(std::time(nullptr));
  auto entry = [&](const std::string& id, const char* owner, const char* tier, const char* locality,
                   const std::string& note) {
    w.begin_object().kv("id", id).kv("object", "model").kv("created", created).kv("owned_by", owner);
    w.kv("tier", tier).kv("locality", locality);
    if (!note.empty()) w.kv("unavailable", note);
    w.end_object();
  };
  w.begin_object().kv("object", "list").key("data").begin_array();
  entry("auto", "tandem", "routed", "routed", "");
  for (const auto& [alias, target] : snap.config.routing.aliases)
    entry(alias, "tandem", "routed", "routed", "");
  for (const auto& m : snap.config.models) {
    entry(m.name, m.provider == ProviderKind::kAnthropic ? "anthropic" : "tandem", TierName(m.tier),
          LocalityName(m.locality), m.unavailable);
  }
  w.end_array().end_object();
  return out;
}

std::string ReadyBody(const Snapshot& snap, bool* ready) {
  std::string out;
  JsonWriter w(out);
  bool slm = false, llm = false;
  w.begin_object().key("models").begin_array();
  for (Provider* p : snap.providers->all()) {
    const ModelInfo& m = p->info();
    CircuitBreaker* br = snap.providers->breaker(m.name);
    bool up = m.unavailable.empty() && (!br || br->state() != CircuitBreaker::State::kOpen);
    (m.tier == Tier::kSlm ? slm : llm) |= up;
    w.begin_object().kv("name", m.name).kv("tier", TierName(m.tier)).kv("available", m.unavailable.empty());
    if (!m.unavailable.empty()) w.kv("reason", m.unavailable);
    w.kv("breaker", br ? BreakerStateName(br->state()) : "closed").end_object();
  }
  w.end_array().kv("slm_tier", slm).kv("llm_tier", llm);
  *ready = slm || llm;
  w.kv("status", *ready ? "ready" : "unavailable").end_object();
  return out;
}

}  // namespace

asio::awaitable<void> Api::handle(const HttpRequestIn& in, Responder& out) {
  std::string path = in.path();
  Headers json;
  json.emplace_back("content-type", "application/json");
  if (path == "/v1/chat/completions" || path == "/chat/completions") {
    if (in.method != "POST") {
      co_await SendError(out, Status(Code::kInvalidArgument, "use POST for " + path));
      co_return;
    }
    co_await chat_.handle(in, out);
    co_return;
  }
  if (runs_ && RunApi::Routes(path)) {
    co_await runs_->handle(in, out);
    co_return;
  }
  if (in.method != "GET" && in.method != "HEAD") {
    co_await SendError(out, Status(Code::kNotFound, "no route for " + in.method + " " + path));
    co_return;
  }
  if (path == "/v1/models" || path == "/models") {
    co_await out.send(200, json, ModelsBody(*rt_.snapshot()));
  } else if (path == "/health") {
    co_await out.send(200, json, "{\"status\":\"ok\"}");
  } else if (path == "/ready") {
    bool ready = false;
    std::string body = ReadyBody(*rt_.snapshot(), &ready);
    co_await out.send(ready ? 200 : 503, json, std::move(body));
  } else if (path == "/metrics") {
    Headers text;
    text.emplace_back("content-type", "text/plain; version=0.0.4");
    co_await out.send(200, text, rt_.metrics().render(rt_.snapshot()->config.routing.target_llm_share));
  } else {
    co_await SendError(out, Status(Code::kNotFound, "no route for GET " + path));
  }
}

}  // namespace tandem
