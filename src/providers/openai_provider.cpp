#include "providers/openai_provider.h"

#include <simdjson.h>

#include "core/sse.h"

namespace tandem {

Result<std::unique_ptr<Provider>> OpenAiProvider::Create(const ModelInfo& info) {
  auto target = ParseHttpUrl(info.base_url, info.tls_ca_file);
  if (!target.ok()) return target.status();
  return std::unique_ptr<Provider>(new OpenAiProvider(info, target.value()));
}

bool ParseOpenAiUsage(std::string_view json, Usage& usage) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root)) return false;
  simdjson::dom::element u;
  if (root["usage"].get(u) || !u.is_object()) return false;
  int64_t in = 0, out = 0;
  if (u["prompt_tokens"].get(in) && u["input_tokens"].get(in)) return false;
  if (u["completion_tokens"].get(out) && u["output_tokens"].get(out)) out = 0;
  usage.prompt_tokens = in;
  usage.completion_tokens = out;
  usage.estimated = false;
  return true;
}

Status UpstreamHttpError(const ModelInfo& m, const HttpResult& r) {
  std::string msg;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (!r.error_body.empty() && !parser.parse(r.error_body).get(root)) {
    std::string_view s;
    if (!root["error"]["message"].get(s)) {
      msg = std::string(s);
    } else if (!root["error"].get(s)) {
      msg = std::string(s);
    } else if (!root["message"].get(s)) {
      msg = std::string(s);
    }
  }
  if (msg.empty()) msg = r.error_body.substr(0, 300);
  std::string text = "upstream " + m.name + " answered HTTP " + std::to_string(r.status) + ": " + msg;
  Code code = Code::kUpstream;
  if (r.status == 429) {
    code = Code::kRateLimited;
  } else if (r.status == 400 || r.status == 413 || r.status == 422) {
    code = Code::kInvalidArgument;
  } else if (r.status == 401 || r.status == 403) {
    code = Code::kUpstream;  // our key was refused: the client did nothing wrong
  } else if (r.status == 404) {
    code = Code::kUpstream;
  } else if (r.status == 503 || r.status == 529) {
    code = Code::kUnavailable;
  } else if (r.status == 504 || r.status == 408) {
    code = Code::kDeadlineExceeded;
  }
  return Status(code, text, r.status);
}

asio::awaitable<Status> OpenAiProvider::chat(const ChatRequest& req, ChatSink& sink, CancelState& cancel,
                                             CallStats& stats) {
  HttpCall call;
  call.path = target_.base_path + "/chat/completions";
  call.body = BuildOpenAiUpstreamBody(req, info_.upstream_model);
  call.headers.emplace_back("content-type", "application/json");
  if (!info_.api_key.empty()) call.headers.emplace_back("authorization", "Bearer " + info_.api_key);
  call.headers.emplace_back("accept", req.stream ? "text/event-stream" : "application/json");
  call.timeouts = info_.timeouts;
  call.stream = req.stream;
  HttpResult result;

  if (!req.stream) {
    std::string body;
    Status s = co_await HttpRequestCollect(target_, call, cancel, result, body, stats.upstream_wait_us);
    if (!s.ok()) co_return s;
    if (result.status < 200 || result.status >= 300) co_return UpstreamHttpError(info_, result);
    if (!ParseOpenAiUsage(body, stats.usage)) {
      stats.usage.prompt_tokens = EstimateTokens(req.body_bytes);
      stats.usage.completion_tokens = EstimateTokens(body.size());
      stats.usage.estimated = true;
    }
    co_return co_await sink.body(std::move(body));
  }

  SseParser sse;
  bool done = false, saw_usage = false;
  int64_t content_chunks = 0;
  std::vector<std::string> events;
  BodyFn forward = [&](std::string_view bytes) -> asio::awaitable<Status> {
    events.clear();
    sse.feed(bytes, [&](std::string_view, std::string_view data) { events.emplace_back(data); });
    for (const auto& data : events) {
      if (data == "[DONE]") {
        done = true;
        continue;
      }
      bool usage_only = false;
      if (data.find("\"usage\"") != std::string::npos && ParseOpenAiUsage(data, stats.usage)) {
        saw_usage = true;
        usage_only = data.find("\"choices\":[]") != std::string::npos;
      }
      if (data.find("\"error\"") != std::string::npos && data.find("\"choices\"") == std::string::npos) {
        co_return Status(Code::kUpstream,
                         "upstream " + info_.name + " sent an error mid-stream: " + data.substr(0, 300));
      }
      if (usage_only && !req.include_usage) continue;
      ++content_chunks;
      Status s = co_await sink.chunk(data);
      if (!s.ok()) co_return s;
    }
    co_return Status::Ok();
  };
  Status s = co_await HttpRequest(target_, call, cancel, result, forward, stats.upstream_wait_us);
  if (!s.ok()) co_return s;
  if (result.status < 200 || result.status >= 300) co_return UpstreamHttpError(info_, result);
  if (!saw_usage) {
    stats.usage.prompt_tokens = EstimateTokens(req.body_bytes);
    stats.usage.completion_tokens = content_chunks;
    stats.usage.estimated = true;
  }
  if (!done) co_return Status(Code::kUpstream, "upstream " + info_.name + " ended the stream before [DONE]");
  co_return Status::Ok();
}

}  // namespace tandem
