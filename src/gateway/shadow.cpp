#include "gateway/shadow.h"

#include <simdjson.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cctype>
#include <random>

#include "core/json_writer.h"
#include "ledger/cost.h"

namespace tandem {
namespace {

using simdjson::dom::element;

// The answer's text in one chat.completion.chunk (delta.content) or one chat.completion (message.content).
void AppendContent(std::string_view json, const char* part, std::string& out) {
  thread_local simdjson::dom::parser parser;
  element doc;
  if (parser.parse(json.data(), json.size()).get(doc)) return;
  simdjson::dom::array choices;
  if (doc["choices"].get(choices)) return;
  for (element choice : choices) {
    std::string_view text;
    if (!choice[part]["content"].get(text)) out.append(text);
    break;  // the first choice is the answer
  }
}

// The question a judge sees: the conversation's last user turn (with the system prompt, when there is one).
std::string Question(const ChatRequest& req) {
  std::string system, user;
  for (const auto& m : req.messages) {
    if (m.role == "system" || m.role == "developer") system = m.text;
    if (m.role == "user") user = m.text;
  }
  return system.empty() ? user : "(instructions: " + system + ")\n" + user;
}

// Collects a non-streamed judge reply.
class ReplySink final : public ChatSink {
 public:
  asio::awaitable<Status> body(std::string json) override {
    AppendContent(json, "message", text_);
    co_return Status::Ok();
  }
  asio::awaitable<Status> chunk(std::string_view json) override {
    AppendContent(json, "delta", text_);
    co_return Status::Ok();
  }
  bool committed() const override { return false; }
  void attempt(const ModelInfo&) override { text_.clear(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// What the judgment needs after the request is gone.
struct Judgment {
  std::shared_ptr<const Snapshot> snap;
  std::string body;  // the judge's request
  LedgerRecord row;  // the shadow row, filled as far as the request tells
};

// Which SLM answered: its engine::EncoderId when in-process (what a .tcr names), else its configured name.
std::string SlmIdentity(const Provider* p) {
  if (auto* local = dynamic_cast<const LocalProvider*>(p)) return local->encoder_id();
  return p ? p->info().name : "";
}

asio::awaitable<void> Judge(Runtime& rt, std::shared_ptr<Judgment> j) {
  const Snapshot& snap = *j->snap;
  LedgerRecord& row = j->row;
  auto req = ParseChatRequest(j->body);
  std::vector<std::string> notes;
  std::vector<Provider*> chain;
  if (req.ok()) chain = snap.providers->chain(snap.config.routing.shadow.judge, false, &notes);
  Status status = !req.ok() ? req.status()
                  : chain.empty()
                      ? Status(Code::kUnavailable, notes.empty() ? "judge unavailable" : notes.front())
                      : Status::Ok();
  ReplySink sink;
  CancelState cancel;
  FailoverOutcome result;
  const int64_t t0 = rt.clock().mono_us();
  if (status.ok()) {
    result = co_await snap.providers->Call(chain, req.value(), sink, cancel);
    status = result.status;
  }
  row.verdict = status.ok() ? ParseVerdict(sink.text()) : -1;
  FillOutcome(snap, result, snap.config.find(snap.config.routing.shadow.judge), snap.config.routing.shadow.judge,
              row);
  if (!status.ok()) {  // FillOutcome has no served model to read the error from when nothing was called
    row.status = status.code_name();
    row.error = status.message();
    row.http_status = status.http_status();
  }
  row.baseline_usd = row.cost_usd;
  row.total_us = row.overhead_us = rt.clock().mono_us() - t0;
  row.reasons = "shadow judgment of " + row.shadow_of + ": " +
                (status.ok() ? "the judge said '" + sink.text().substr(0, 64) + "'" : status.message());
  if (Status s = rt.ledger().append(row); !s.ok())
    std::fprintf(stderr, "tandem: %s: ledger: %s\n", row.request_id.c_str(), s.message().c_str());
  rt.shadow_in_flight().fetch_sub(1);
  if (row.verdict < 0) {
    rt.metrics().shadow_missed("failed");
    co_return;
  }
  rt.metrics().shadow(row.verdict, row.p_right, row.cost_usd, snap.generation);
}

}  // namespace

asio::awaitable<Status> AnswerTap::body(std::string json) {
  if (capture_) {
    text_.clear();
    AppendContent(json, "message", text_);
  }
  co_return co_await inner_.body(std::move(json));
}

asio::awaitable<Status> AnswerTap::chunk(std::string_view json) {
  if (capture_) AppendContent(json, "delta", text_);
  co_return co_await inner_.chunk(json);
}

void AnswerTap::attempt(const ModelInfo& m) {
  text_.clear();  // failover starts the answer afresh
  inner_.attempt(m);
}

bool ShadowSampled(const ShadowConfig& cfg, const Decision& d) {
  if (!cfg.enabled || d.local_only || cfg.sample <= 0) return false;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(rng) < cfg.sample;
}

std::string JudgeRequestBody(const std::string& judge_model, const std::string& question, const std::string& answer) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().kv("model", judge_model).kv("max_tokens", int64_t{4}).kv("temperature", 0.0);
  w.key("messages").begin_array();
  w.begin_object().kv("role", "system")
      .kv("content", "You grade answers. Reply with one word: yes if the answer is correct, no if it is not.")
      .end_object();
  w.begin_object().kv("role", "user")
      .kv("content", "Question:\n" + question + "\n\nAnswer:\n" + answer + "\n\nIs the answer correct? Reply yes or no.")
      .end_object();
  w.end_array().end_object();
  return body;
}

int ParseVerdict(std::string_view reply) {
  size_t i = 0;
  while (i < reply.size() && !std::isalpha(static_cast<unsigned char>(reply[i]))) ++i;
  std::string word;
  while (i < reply.size() && std::isalpha(static_cast<unsigned char>(reply[i])))
    word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(reply[i++]))));
  if (word == "yes" || word == "correct" || word == "right") return 1;
  if (word == "no" || word == "incorrect" || word == "wrong") return 0;
  return -1;
}

void StartShadowJudgment(Runtime& rt, std::shared_ptr<const Snapshot> snap, const ChatRequest& req,
                         const RoutedOutcome& o, const LedgerRecord& row, const asio::any_io_executor& exec) {
  if (!o.shadow_sampled || row.local_only || !o.result.status.ok() || !o.result.served ||
      o.result.served->info().tier != Tier::kSlm || o.answer.empty())
    return;
  const ShadowConfig& sc = snap->config.routing.shadow;
  if (rt.shadow_in_flight().fetch_add(1) >= sc.max_in_flight) {
    rt.shadow_in_flight().fetch_sub(1);
    rt.metrics().shadow_missed("skipped");
    return;
  }
  auto j = std::make_shared<Judgment>();
  j->body = JudgeRequestBody(sc.judge, Question(req), o.answer);
  LedgerRecord& s = j->row;
  s.ts_us = rt.clock().wall_us();
  s.request_id = row.request_id + "-shadow";
  s.key_id = row.key_id;
  s.requested_model = SlmIdentity(o.result.served);  // the SLM judged (what `train --from-ledger` fits for)
  s.rule = "shadow";
  s.shadow_of = row.request_id;
  s.signals = row.signals;
  s.p_right = row.p_right;
  j->snap = std::move(snap);
  asio::co_spawn(exec, Judge(rt, std::move(j)), asio::detached);
}

}  // namespace tandem
