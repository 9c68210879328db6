#include "providers/registry.h"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <set>

#include "providers/anthropic_provider.h"
#include "providers/local_provider.h"
#include "providers/openai_provider.h"

namespace tandem {

bool Retriable(const Status& s) {
  switch (s.code()) {
    case Code::kUpstream:
    case Code::kRateLimited:
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
      return s.upstream_http() == 0 || s.upstream_http() >= 500 || s.upstream_http() == 429 ||
             s.upstream_http() == 408;
    default:
      return false;
  }
}

Result<std::shared_ptr<ProviderSet>> ProviderSet::Build(const Config& config, const Clock& clock) {
  std::shared_ptr<ProviderSet> set(new ProviderSet(clock));
  for (const auto& m : config.models) {
    Result<std::unique_ptr<Provider>> p = m.provider == ProviderKind::kAnthropic     ? AnthropicProvider::Create(m)
                                          : m.provider == ProviderKind::kLocalEngine ? LocalProvider::Create(m)
                                                                                     : OpenAiProvider::Create(m);
    if (!p.ok())
      return Status(p.status().code(), config.path + ":" + std::to_string(m.config_line) + ": model " +
                                           m.name + ": " + p.status().message());
    set->entries_[m.name] = Entry{std::move(p.value()), std::make_unique<CircuitBreaker>(m.breaker, clock)};
    set->order_.push_back(m.name);
  }
  return set;
}

Provider* ProviderSet::get(const std::string& model) const {
  auto it = entries_.find(model);
  return it == entries_.end() ? nullptr : it->second.provider.get();
}

CircuitBreaker* ProviderSet::breaker(const std::string& model) const {
  auto it = entries_.find(model);
  return it == entries_.end() ? nullptr : it->second.breaker.get();
}

std::vector<Provider*> ProviderSet::all() const {
  std::vector<Provider*> out;
  for (const auto& name : order_) out.push_back(get(name));
  return out;
}

std::vector<Provider*> ProviderSet::chain(const std::string& model, bool local_only,
                                          std::vector<std::string>* notes) const {
  std::vector<Provider*> out;
  std::set<std::string> seen;
  std::vector<std::string> todo = {model};
  while (!todo.empty()) {  // breadth-first over fallbacks, each model once
    std::string name = todo.front();
    todo.erase(todo.begin());
    if (!seen.insert(name).second) continue;
    Provider* p = get(name);
    if (!p) continue;
    const ModelInfo& m = p->info();
    for (const auto& f : m.fallbacks) todo.push_back(f);
    if (local_only && m.locality == Locality::kCloud) {
      if (notes) notes->push_back("privacy: skipped cloud model " + name);
      continue;
    }
    if (!m.unavailable.empty()) {
      if (notes) notes->push_back(name + " unavailable: " + m.unavailable);
      continue;
    }
    out.push_back(p);
  }
  return out;
}

asio::awaitable<FailoverOutcome> ProviderSet::Call(const std::vector<Provider*>& chain,
                                                   const ChatRequest& req, ChatSink& sink,
                                                   CancelState& cancel) const {
  FailoverOutcome out;
  out.status = Status(Code::kUnavailable, "no model is available to serve this request");
  thread_local std::minstd_rand rng(std::random_device{}());
  auto exec = co_await asio::this_coro::executor;
  for (Provider* p : chain) {
    const ModelInfo& m = p->info();
    CircuitBreaker* br = breaker(m.name);
    for (int attempt = 0; attempt < m.retry.max_attempts; ++attempt) {
      if (br && !br->allow()) {
        out.log.push_back(m.name + ": circuit open, skipped");
        if (out.served == nullptr)
          out.status = Status(Code::kUnavailable, "circuit breaker open for " + m.name);
        break;
      }
      out.served = p;
      ++out.attempts;
      CallStats stats;
      sink.attempt(m);
      Status s = co_await p->chat(req, sink, cancel, stats);
      out.stats.usage = stats.usage;
      out.stats.upstream_wait_us += stats.upstream_wait_us;
      out.status = s;
      if (s.ok()) {
        if (br) br->success();
        co_return out;
      }
      if (s.code() == Code::kCancelled) {
        if (br) br->abandon();
        co_return out;
      }
      if (!Retriable(s)) {
        if (br) br->success();  // the upstream is healthy; the request was refused
        co_return out;
      }
      if (br) br->failure();
      out.log.push_back(m.name + " try " + std::to_string(attempt + 1) + ": " + s.message());
      if (sink.committed()) co_return out;  // bytes reached the client: nothing may be retried
      if (attempt + 1 < m.retry.max_attempts) {
        int64_t cap = std::min<int64_t>(m.retry.max_backoff_ms, int64_t{m.retry.base_backoff_ms} << attempt);
        int64_t wait_ms = cap > 0 ? std::uniform_int_distribution<int64_t>(0, cap)(rng) : 0;
        // A Retry-After header is not visible here; a 429 backs off to the cap instead of a random share.
        if (s.code() == Code::kRateLimited) wait_ms = cap;
        asio::steady_timer timer(exec, std::chrono::milliseconds(wait_ms));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (cancel.cancelled()) {
          out.status = Status(Code::kCancelled, "client went away");
          co_return out;
        }
      }
    }
  }
  co_return out;
}

}  // namespace tandem
