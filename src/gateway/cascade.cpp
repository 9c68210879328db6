#include "gateway/cascade.h"

#include <simdjson.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "core/json_writer.h"
#include "route/choices.h"
#include "route/confidence_router.h"

namespace tandem {
namespace {

using simdjson::dom::element;

simdjson::dom::parser& Parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// What the draft's timer, the client's hang-up and the sink share; outlives the coroutine frame because a
// cancelled timer's handler still runs later.
struct DraftState {
  CancelState cancel;
  bool any = false;
  bool over_budget = false;
};

class DraftSink final : public ChatSink {
 public:
  DraftSink(std::shared_ptr<DraftState> state, const Clock& clock, int64_t start_us)
      : state_(std::move(state)), clock_(clock), start_us_(start_us) {}
  asio::awaitable<Status> body(std::string json) override {
    chunks_.push_back(std::move(json));  // not expected: drafts are streamed
    co_return Status::Ok();
  }
  asio::awaitable<Status> chunk(std::string_view json) override {
    if (!state_->any) first_token_us_ = clock_.mono_us() - start_us_;
    state_->any = true;
    chunks_.emplace_back(json);
    co_return Status::Ok();
  }
  // Nothing has reached the client: failover to the next local model may always start afresh.
  bool committed() const override { return false; }
  void attempt(const ModelInfo&) override { chunks_.clear(); }

  std::vector<std::string>& chunks() { return chunks_; }
  int64_t first_token_us() const { return first_token_us_; }

 private:
  std::shared_ptr<DraftState> state_;
  const Clock& clock_;
  int64_t start_us_;
  int64_t first_token_us_ = -1;
  std::vector<std::string> chunks_;
};

// Writes a choice object with its logprobs replaced by null.
void WriteChoiceWithoutLogprobs(JsonWriter& w, element choice) {
  simdjson::dom::object fields;
  if (choice.get(fields)) {
    w.raw(simdjson::minify(choice));
    return;
  }
  w.begin_object();
  for (auto field : fields) {
    w.key(field.key);
    if (field.key == "logprobs") {
      w.null();
    } else {
      w.raw(simdjson::minify(field.value));
    }
  }
  w.end_object();
}

}  // namespace

Confidence MeasureConfidence(const std::vector<std::string>& chunks, std::string_view measure) {
  Confidence c;
  double sum = 0, min = 0;
  std::vector<AnswerToken> tokens;
  for (const auto& chunk : chunks) {
    element doc;
    if (Parser().parse(chunk).get(doc)) continue;
    simdjson::dom::array choices, content;
    if (doc["choices"].get(choices)) continue;
    for (element choice : choices) {
      std::string_view text;
      if (!choice["delta"]["content"].get(text)) c.text.append(text);
      if (choice["logprobs"]["content"].get(content)) continue;
      for (element e : content) {
        double lp;
        if (e["logprob"].get(lp)) continue;
        c.has_logprobs = true;
        sum += lp;
        min = c.tokens == 0 ? lp : std::min(min, lp);
        ++c.tokens;
        AnswerToken t{lp, {}};
        simdjson::dom::array top;
        if (!e["top_logprobs"].get(top)) {
          for (element alt : top) {
            double alp;
            if (!alt["logprob"].get(alp)) t.top.push_back(alp);
          }
        }
        tokens.push_back(std::move(t));
      }
    }
  }
  if (c.tokens > 0) c.value = std::exp(measure == "min" ? min : sum / c.tokens);
  if (c.has_logprobs) c.signals = AnswerSignals(tokens);
  return c;
}

std::string AssembleCompletion(const std::vector<std::string>& chunks, bool with_logprobs) {
  std::string id = "chatcmpl-tandem", model, content, finish = "stop", usage, fingerprint;
  int64_t created = 0;
  bool has_content = false;
  struct Call {
    std::string id, type = "function", name, arguments;
  };
  std::map<int64_t, Call> calls;
  std::vector<std::string> logprobs;
  for (const auto& chunk : chunks) {
    element doc;
    if (Parser().parse(chunk).get(doc)) continue;
    std::string_view sv;
    int64_t iv;
    if (!doc["id"].get(sv)) id = std::string(sv);
    if (!doc["model"].get(sv)) model = std::string(sv);
    if (!doc["created"].get(iv)) created = iv;
    if (!doc["system_fingerprint"].get(sv)) fingerprint = std::string(sv);
    element u;
    if (!doc["usage"].get(u) && u.is_object()) usage = simdjson::minify(u);
    simdjson::dom::array choices;
    if (doc["choices"].get(choices)) continue;
    for (element choice : choices) {
      element delta = choice["delta"].value_unsafe();
      if (!choice["delta"].error()) {
        if (!delta["content"].get(sv)) {
          content.append(sv);
          has_content = true;
        }
        simdjson::dom::array tcs;
        if (!delta["tool_calls"].get(tcs)) {
          for (element tc : tcs) {
            int64_t index = 0;
            if (tc["index"].get(index)) index = 0;
            Call& call = calls[index];
            if (!tc["id"].get(sv)) call.id = std::string(sv);
            if (!tc["type"].get(sv)) call.type = std::string(sv);
            if (!tc["function"]["name"].get(sv)) call.name.append(sv);
            if (!tc["function"]["arguments"].get(sv)) call.arguments.append(sv);
          }
        }
      }
      if (!choice["finish_reason"].get(sv)) finish = std::string(sv);
      simdjson::dom::array lps;
      if (with_logprobs && !choice["logprobs"]["content"].get(lps)) {
        for (element e : lps) logprobs.push_back(simdjson::minify(e));
      }
    }
  }
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("id", id).kv("object", "chat.completion").kv("created", created).kv("model", model);
  if (!fingerprint.empty()) w.kv("system_fingerprint", fingerprint);
  w.key("choices").begin_array().begin_object().kv("index", int64_t{0}).key("message").begin_object();
  w.kv("role", "assistant");
  if (has_content || calls.empty()) {
    w.kv("content", content);
  } else {
    w.key("content").null();
  }
  if (!calls.empty()) {
    w.key("tool_calls").begin_array();
    for (const auto& [index, call] : calls) {
      w.begin_object().kv("id", call.id).kv("type", call.type).key("function").begin_object();
      w.kv("name", call.name).kv("arguments", call.arguments).end_object().end_object();
    }
    w.end_array();
  }
  w.end_object();
  if (with_logprobs) {
    w.key("logprobs").begin_object().key("content").begin_array();
    for (const auto& e : logprobs) w.raw(e);
    w.end_array().end_object();
  } else {
    w.key("logprobs").null();
  }
  w.kv("finish_reason", finish).end_object().end_array();
  if (!usage.empty()) w.key("usage").raw(usage);
  w.end_object();
  return out;
}

std::string ReplayChunk(std::string_view chunk, bool with_logprobs, bool with_usage) {
  if (with_logprobs && with_usage) return std::string(chunk);
  element doc;
  if (Parser().parse(chunk.data(), chunk.size()).get(doc) || !doc.is_object()) return std::string(chunk);
  simdjson::dom::array choices;
  bool no_choices = doc["choices"].get(choices) || choices.size() == 0;
  element usage;
  if (!with_usage && no_choices && !doc["usage"].get(usage) && usage.is_object()) return "";
  if (with_logprobs) return std::string(chunk);
  std::string out;
  JsonWriter w(out);
  simdjson::dom::object top;
  if (doc.get(top)) return std::string(chunk);
  w.begin_object();
  for (auto field : top) {
    w.key(field.key);
    simdjson::dom::array list;
    if (field.key == "choices" && !field.value.get(list)) {
      w.begin_array();
      for (element choice : list) {
        if (choice.is_object()) {
          WriteChoiceWithoutLogprobs(w, choice);
        } else {
          w.raw(simdjson::minify(choice));
        }
      }
      w.end_array();
    } else {
      w.raw(simdjson::minify(field.value));
    }
  }
  w.end_object();
  return out;
}

asio::awaitable<DraftResult> Draft(const ProviderSet& providers, const std::vector<Provider*>& slm_chain,
                                   const ChatRequest& req, const CascadeConfig& cfg, CancelState& client_cancel,
                                   const Clock& clock) {
  DraftResult r;
  ChatRequest draft = req;
  draft.stream = true;
  draft.include_usage = true;
  draft.set_field("stream", "true");
  draft.set_field("logprobs", "true");
  draft.set_field("top_logprobs", "2");  // first_margin
  auto state = std::make_shared<DraftState>();
  const int64_t start = clock.mono_us();
  DraftSink sink(state, clock, start);
  client_cancel.set_hook([state] { state->cancel.cancel(); });
  auto exec = co_await asio::this_coro::executor;
  asio::steady_timer timer(exec);
  if (cfg.ttft_budget_ms > 0) {
    timer.expires_after(std::chrono::milliseconds(cfg.ttft_budget_ms));
    timer.async_wait([state](const boost::system::error_code& ec) {
      if (ec || state->any) return;
      state->over_budget = true;
      state->cancel.cancel();
    });
  }
  r.outcome = co_await providers.Call(slm_chain, draft, sink, state->cancel);
  timer.cancel();
  client_cancel.set_hook(nullptr);
  r.client_gone = client_cancel.cancelled();
  r.over_ttft_budget = state->over_budget;
  r.first_token_us = sink.first_token_us();
  r.chunks = std::move(sink.chunks());
  r.confidence = MeasureConfidence(r.chunks, cfg.measure);
  co_return r;
}

asio::awaitable<Result<std::map<std::string, double>>> ProbeOptions(LocalProvider& slm, const ChatRequest& req,
                                                                     const std::string& draft_text,
                                                                     CancelState& cancel, int64_t* prompt_tokens) {
  size_t last = req.messages.size();
  for (size_t i = 0; i < req.messages.size(); ++i)
    if (req.messages[i].role == "user") last = i;
  if (last == req.messages.size()) co_return std::map<std::string, double>{};
  const std::string& question = req.messages[last].text;
  const std::string letters = OptionLetters(question);
  if (letters.empty()) co_return std::map<std::string, double>{};
  std::vector<std::string> choices;  // each letter as the answer's first token, bare and after a space
  for (char l : letters) {
    choices.emplace_back(1, l);
    choices.push_back(std::string(" ") + l);
  }
  std::vector<ChatMessage> turns(req.messages.begin(), req.messages.begin() + static_cast<long>(last) + 1);
  std::vector<std::vector<double>> probs;
  for (size_t shift = 0; shift < letters.size(); ++shift) {
    if (shift > 0) turns.back().text = RotateOptions(question, static_cast<int>(shift));
    auto scored = co_await slm.ScoreChoices(turns, choices, cancel);
    if (!scored.ok()) co_return scored.status();
    if (prompt_tokens) *prompt_tokens += scored->prompt_tokens - scored->cached_tokens;
    std::vector<double> p;
    for (size_t k = 0; k < letters.size(); ++k)
      p.push_back(std::exp(scored->logprob[2 * k]) + std::exp(scored->logprob[2 * k + 1]));
    probs.push_back(std::move(p));
  }
  co_return PermutationSignals(probs, letters, AnsweredLetter(draft_text, letters));
}

}  // namespace tandem
