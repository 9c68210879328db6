// http_get and http_post: to allow-listed hosts only. What a model writes cannot reshape the request: a path with
// spaces or control characters (CR, LF...), a header name that is not a token or a value with control characters
// is refused, and so are the headers that frame the message or name its host (host, content-length,
// transfer-encoding, connection, upgrade).
#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "agency/builtin_tools.h"
#include "core/json_writer.h"
#include "providers/http_client.h"

namespace tandem::agency {
namespace {

constexpr size_t kMaxBody = 64 * 1024;

bool HasControl(std::string_view s, bool space_too) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F || (space_too && u == ' ');
  });
}

// RFC 9110's token: what a header name may hold.
bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool FramingHeader(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "host" || lower == "content-length" || lower == "transfer-encoding" || lower == "connection" ||
         lower == "upgrade";
}

class HttpTool final : public Tool {
 public:
  HttpTool(std::string method, std::vector<std::string> allowed) : method_(std::move(method)), allowed_(std::move(allowed)) {
    std::string hosts;
    for (const auto& h : allowed_) hosts += (hosts.empty() ? "" : ", ") + h;
    spec_.name = method_ == "GET" ? "http_get" : "http_post";
    spec_.description = "HTTP " + method_ + " to an allowed host (" + hosts + "); returns the status and the body.";
    spec_.parameters = method_ == "GET"
                           ? R"({"type":"object","properties":{"url":{"type":"string"},"headers":{"type":"object",)"
                             R"("additionalProperties":{"type":"string"}}},"required":["url"],"additionalProperties":false})"
                           : R"({"type":"object","properties":{"url":{"type":"string"},"body":{"type":"string"},)"
                             R"("headers":{"type":"object","additionalProperties":{"type":"string"}}},)"
                             R"("required":["url","body"],"additionalProperties":false})";
  }
  const ToolSpec& spec() const override { return spec_; }

  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds timeout) override {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view url, body;
    if (parser.parse(args.data(), args.size()).get(doc) || doc["url"].get(url))
      return ToolResult{"expected {\"url\": ...}", true};
    if (method_ == "POST" && doc["body"].get(body)) return ToolResult{"expected a \"body\"", true};
    auto target = ParseHttpUrl(std::string(url));
    if (!target.ok()) return ToolResult{"bad url: " + target.status().message(), true};
    const std::string host = target->host, host_port = target->host + ":" + target->port;
    if (std::find(allowed_.begin(), allowed_.end(), host) == allowed_.end() &&
        std::find(allowed_.begin(), allowed_.end(), host_port) == allowed_.end())
      return ToolResult{"host " + host_port + " is not in the allow list", true};
    HttpCall call;
    call.method = method_;
    // ParseHttpUrl keeps the path as the base path; the request line wants it whole (query included).
    call.path = target->base_path.empty() ? "/" : target->base_path;
    if (HasControl(call.path, true)) return ToolResult{"bad url: the path holds spaces or control characters", true};
    call.body = std::string(body);
    simdjson::dom::object headers;
    if (!doc["headers"].get(headers)) {
      for (auto h : headers) {
        std::string_view v;
        if (h.value.get(v)) continue;
        if (!IsToken(h.key) || HasControl(v, false))
          return ToolResult{"header '" + std::string(h.key) +
                                "': a name is letters, digits and !#$%&'*+-.^_`|~; a value holds no control characters",
                            true};
        if (FramingHeader(h.key))
          return ToolResult{"header '" + std::string(h.key) + "' is set by the tool itself", true};
        call.headers.emplace_back(std::string(h.key), std::string(v));
      }
    }
    if (method_ == "POST" && std::none_of(call.headers.begin(), call.headers.end(),
                                          [](const auto& h) { return h.first == "content-type"; }))
      call.headers.emplace_back("content-type", "application/json");
    call.timeouts.connect_ms = static_cast<int>(timeout.count());
    call.timeouts.first_token_ms = static_cast<int>(timeout.count());
    call.timeouts.total_ms = static_cast<int>(timeout.count());
    HttpResult result;
    std::string out_body;
    Status status = HttpRequestBlocking(*target, call, result, out_body);
    if (!status.ok()) return ToolResult{"HTTP " + method_ + " " + std::string(url) + " failed: " + status.message(), true};
    const std::string& text = result.status >= 400 ? result.error_body : out_body;
    std::string out;
    JsonWriter w(out);
    w.begin_object().kv("status", static_cast<int64_t>(result.status));
    w.kv("body", text.size() > kMaxBody ? text.substr(0, kMaxBody) : text);
    if (text.size() > kMaxBody) w.kv("truncated", true);
    w.end_object();
    return ToolResult{out, result.status >= 400};
  }

 private:
  std::string method_;
  std::vector<std::string> allowed_;
  ToolSpec spec_;
};

}  // namespace

std::vector<std::shared_ptr<Tool>> MakeHttpTools(const std::vector<std::string>& allowed_hosts) {
  return {std::make_shared<HttpTool>("GET", allowed_hosts), std::make_shared<HttpTool>("POST", allowed_hosts)};
}

}  // namespace tandem::agency
