// FakeLlm: the behaviour of the fake upstream (see README.md): answers, errors, pacing and scripts.
// Thread-safe: the shared state is behind a mutex; each request is served on its worker's loop.
#pragma once

#include <deque>
#include <mutex>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/http_exchange.h"

namespace tandem::fake {

struct Step {                 // one scripted behaviour, used by one request
  int status = 0;             // answer with this HTTP error
  int disconnect_after = -1;  // drop the connection after this many chunks (or before a non-stream body)
  bool hang = false;          // never answer
};

struct Settings {
  std::string name = "fake-llm";
  int latency_ms = 0;
  int chunk_delay_ms = 0;
  int words = 8;
  double logprob = -0.05;  // every answer token's logprob, when the request asks for logprobs
  std::string require_key;
  // Scripted tool answers (--answers): the last user message -> a JSON array of {"name", "arguments"} calls
  // (OpenAI dialect). An empty array answers in text. Prompts not listed get the default behaviour.
  std::shared_ptr<const std::map<std::string, std::string>> answers;
  // Replies by content (POST /_control {"replies": [{"contains", "reply", "logprob"}]}): the first rule whose
  // `contains` is in the last user message answers with `reply` (when given) at token logprob `logprob` (when
  // given) — a judge that grades, an SLM whose confidence depends on the question.
  struct Reply {
    std::string contains, reply;
    bool has_logprob = false;
    double logprob = 0;
  };
  std::vector<Reply> replies;
};

class FakeLlm {
 public:
  explicit FakeLlm(Settings s) : settings_(std::move(s)) {}
  asio::awaitable<void> handle(const HttpRequestIn& in, Responder& out);

 private:
  asio::awaitable<void> openai(const HttpRequestIn& in, Responder& out, Settings s, Step step);
  asio::awaitable<void> anthropic(const HttpRequestIn& in, Responder& out, Settings s, Step step);
  void record(const HttpRequestIn& in);

  std::mutex mu_;
  Settings settings_;
  std::deque<Step> script_;
  int64_t requests_ = 0;
  std::deque<std::string> bodies_;
};

}  // namespace tandem::fake
