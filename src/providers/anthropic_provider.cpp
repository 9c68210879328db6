#include "providers/anthropic_provider.h"

#include <ctime>

#include "core/sse.h"
#include "providers/anthropic_codec.h"
#include "providers/openai_provider.h"

namespace tandem {

Result<std::unique_ptr<Provider>> AnthropicProvider::Create(const ModelInfo& info) {
  auto target = ParseHttpUrl(info.base_url, info.tls_ca_file);
  if (!target.ok()) return target.status();
  return std::unique_ptr<Provider>(new AnthropicProvider(info, target.value()));
}

asio::awaitable<Status> AnthropicProvider::chat(const ChatRequest& req, ChatSink& sink, CancelState& cancel,
                                                CallStats& stats) {
  auto body = OpenAiToAnthropicRequest(BuildOpenAiUpstreamBody(req, info_.upstream_model),
                                       info_.upstream_model, req.stream);
  if (!body.ok()) co_return body.status();
  HttpCall call;
  call.path = target_.base_path + "/messages";
  call.body = std::move(body.value());
  call.headers.emplace_back("content-type", "application/json");
  call.headers.emplace_back("anthropic-version", "2023-06-01");
  if (!info_.api_key.empty()) call.headers.emplace_back("x-api-key", info_.api_key);
  call.timeouts = info_.timeouts;
  call.stream = req.stream;
  HttpResult result;
  int64_t created = static_cast<int64_t>(std::time(nullptr));

  if (!req.stream) {
    std::string answer;
    Status s = co_await HttpRequestCollect(target_, call, cancel, result, answer, stats.upstream_wait_us);
    if (!s.ok()) co_return s;
    if (result.status < 200 || result.status >= 300) co_return UpstreamHttpError(info_, result);
    auto translated = AnthropicToOpenAiResponse(answer, stats.usage, created);
    if (!translated.ok()) co_return translated.status();
    co_return co_await sink.body(std::move(translated.value()));
  }

  SseParser sse;
  AnthropicStreamTranslator tr(created);
  std::vector<std::pair<std::string, std::string>> events;
  std::vector<std::string> chunks;
  BodyFn forward = [&](std::string_view bytes) -> asio::awaitable<Status> {
    events.clear();
    sse.feed(bytes, [&](std::string_view ev, std::string_view data) { events.emplace_back(ev, data); });
    for (const auto& [ev, data] : events) {
      chunks.clear();
      Status s = tr.feed(ev, data, chunks);
      if (!s.ok()) co_return s;
      for (const auto& c : chunks) {
        s = co_await sink.chunk(c);
        if (!s.ok()) co_return s;
      }
    }
    co_return Status::Ok();
  };
  Status s = co_await HttpRequest(target_, call, cancel, result, forward, stats.upstream_wait_us);
  if (!s.ok()) co_return s;
  if (result.status < 200 || result.status >= 300) co_return UpstreamHttpError(info_, result);
  stats.usage = tr.usage();
  if (!tr.finished()) co_return Status(Code::kUpstream, "upstream " + info_.name + " ended the stream early");
  if (req.include_usage) co_return co_await sink.chunk(tr.usage_chunk());
  co_return Status::Ok();
}

}  // namespace tandem
