#include "agency/mcp_client.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "core/json_writer.h"
#include "providers/http_client.h"

extern char** environ;

namespace tandem::agency {

constexpr char kModern[] = "2026-07-28";
constexpr char kHandshake[] = "2025-06-18";

// Moves one JSON-RPC message to the server and, for a request, its answer back.
class McpTransport {
 public:
  virtual ~McpTransport() = default;
  // `message` has an "id": returns the JSON-RPC response with that id. `headers` are for HTTP only.
  virtual Result<std::string> Call(int64_t id, const std::string& message,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   std::chrono::milliseconds timeout) = 0;
  virtual Status Notify(const std::string& message,
                        const std::vector<std::pair<std::string, std::string>>& headers) = 0;
};

namespace {

using simdjson::dom::element;

int64_t IdOf(std::string_view message) {
  simdjson::dom::parser parser;
  element doc;
  int64_t id = -1;
  if (parser.parse(message.data(), message.size()).get(doc) || doc["id"].get(id)) return -1;
  return id;
}

// A child process speaking newline-delimited JSON-RPC.
class StdioTransport final : public McpTransport {
 public:
  static Result<std::unique_ptr<StdioTransport>> Start(const std::vector<std::string>& argv) {
    if (argv.empty()) return Status(Code::kInvalidArgument, "mcp: no command");
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
      return Status(Code::kInternal, std::string("mcp: pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    // Nothing else of ours goes with it: Asio's sockets are not close-on-exec, and a server holding the gateway's
    // listening sockets or a client's connection would keep them open past their owner.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
      close(in[1]);
      close(out[0]);
      return Status(Code::kUnavailable, "mcp: cannot start '" + argv[0] + "': " + std::strerror(rc));
    }
    std::string name;
    for (const auto& a : argv) name += (name.empty() ? "" : " ") + a;
    if (name.size() > 120) name = name.substr(0, 117) + "...";
    auto t = std::unique_ptr<StdioTransport>(new StdioTransport(pid, in[1], out[0], name));
    t->reader_ = std::thread([p = t.get()] { p->Read(); });
    return t;
  }

  ~StdioTransport() override {
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      close(to_child_);  // EOF on its stdin: a well-behaved server exits
      to_child_ = -1;
    }
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (waitpid(pid_, &status, WNOHANG) == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
      }
    }
    reader_.join();
    close(from_child_);
  }

  Result<std::string> Call(int64_t id, const std::string& message, const std::vector<std::pair<std::string, std::string>>&,
                           std::chrono::milliseconds timeout) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (dead_) return Status(Code::kUnavailable, "mcp: server '" + name_ + "' has exited");
      pending_[id];
    }
    if (Status st = Write(message); !st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.erase(id);
      return st;
    }
    std::unique_lock<std::mutex> lock(mu_);
    const bool answered = cv_.wait_for(lock, timeout, [&] { return dead_ || !pending_[id].empty(); });
    std::string reply = std::move(pending_[id]);
    pending_.erase(id);
    if (!reply.empty()) return reply;
    if (!answered)
      return Status(Code::kDeadlineExceeded, "mcp: server '" + name_ + "' did not answer within " +
                                                 std::to_string(timeout.count()) + " ms");
    return Status(Code::kUnavailable, "mcp: server '" + name_ + "' exited before answering");
  }

  Status Notify(const std::string& message, const std::vector<std::pair<std::string, std::string>>&) override {
    return Write(message);
  }

 private:
  StdioTransport(pid_t pid, int to_child, int from_child, std::string name)
      : pid_(pid), to_child_(to_child), from_child_(from_child), name_(std::move(name)) {}

  Status Write(const std::string& message) {
    std::lock_guard<std::mutex> lock(write_mu_);
    std::string line = message + "\n";
    size_t off = 0;
    while (off < line.size()) {
      const ssize_t n = write(to_child_, line.data() + off, line.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status(Code::kUnavailable, "mcp: server '" + name_ + "' is not reading (" + std::strerror(errno) + ")");
      off += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  // Reads lines until EOF; a response is handed to its waiter, anything else (notifications, requests the
  // server makes of us) is dropped.
  void Read() {
    std::string buf;
    char chunk[65536];
    for (;;) {
      const ssize_t n = read(from_child_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        const int64_t id = IdOf(line);
        if (id < 0 || line.find("\"method\"") != std::string::npos) continue;
        std::lock_guard<std::mutex> lock(mu_);
        auto it = pending_.find(id);
        if (it != pending_.end()) it->second = std::move(line);
        cv_.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    dead_ = true;
    cv_.notify_all();
  }

  pid_t pid_;
  int to_child_, from_child_;
  std::string name_;
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, std::string> pending_;
  bool dead_ = false;
  std::thread reader_;
};

// Streamable HTTP: one POST per message; the answer is JSON, or SSE events one of which is the response.
class HttpTransport final : public McpTransport {
 public:
  static Result<std::unique_ptr<HttpTransport>> Make(const std::string& url) {
    auto target = ParseHttpUrl(url);
    if (!target.ok()) return Status(Code::kInvalidArgument, "mcp: bad url '" + url + "': " + target.status().message());
    return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(target.value()), url));
  }

  Result<std::string> Call(int64_t id, const std::string& message,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           std::chrono::milliseconds timeout) override {
    HttpResult result;
    std::string body;
    Status st = Post(message, headers, timeout, result, body);
    if (!st.ok()) return st;
    if (result.status >= 400) {
      // A JSON-RPC error may come with a 4xx status (2026-07-28 maps error codes to statuses).
      if (IdOf(result.error_body) == id) return result.error_body;
      return Status(Code::kUpstream, "mcp: " + url_ + " answered HTTP " + std::to_string(result.status) + ": " +
                                         result.error_body.substr(0, 300));
    }
    const std::string session = result.header("mcp-session-id");
    if (!session.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      session_ = session;
    }
    if (result.header("content-type").rfind("text/event-stream", 0) == 0) {
      // Each event's data lines form one JSON-RPC message; ours is the one with our id.
      size_t pos = 0;
      std::string data;
      while (pos <= body.size()) {
        size_t nl = body.find('\n', pos);
        if (nl == std::string::npos) nl = body.size();
        std::string line = body.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pos = nl + 1;
        if (line.rfind("data:", 0) == 0) {
          data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        } else if (line.empty() && !data.empty()) {
          if (IdOf(data) == id && data.find("\"method\"") == std::string::npos) return data;
          data.clear();
        }
        if (nl == body.size()) break;
      }
      if (!data.empty() && IdOf(data) == id) return data;
      return Status(Code::kUpstream, "mcp: the event stream from " + url_ + " ended without the response");
    }
    return body;
  }

  Status Notify(const std::string& message, const std::vector<std::pair<std::string, std::string>>& headers) override {
    HttpResult result;
    std::string body;
    Status st = Post(message, headers, std::chrono::milliseconds(5000), result, body);
    if (!st.ok()) return st;
    if (result.status >= 400)
      return Status(Code::kUpstream, "mcp: " + url_ + " refused a notification: HTTP " + std::to_string(result.status));
    return Status::Ok();
  }

 private:
  HttpTransport(HttpTarget target, std::string url) : target_(std::move(target)), url_(std::move(url)) {}

  Status Post(const std::string& message, const std::vector<std::pair<std::string, std::string>>& headers,
              std::chrono::milliseconds timeout, HttpResult& result, std::string& body) {
    HttpCall call;
    call.method = "POST";
    call.path = target_.base_path.empty() ? "/" : target_.base_path;
    call.body = message;
    call.headers = headers;
    call.keep_headers = true;  // the content type and Mcp-Session-Id matter
    call.headers.emplace_back("content-type", "application/json");
    call.headers.emplace_back("accept", "application/json, text/event-stream");
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!session_.empty()) call.headers.emplace_back("mcp-session-id", session_);
    }
    const int ms = static_cast<int>(timeout.count());
    call.timeouts.connect_ms = std::min(ms, 5000);
    call.timeouts.first_token_ms = ms;
    call.timeouts.total_ms = ms;
    Status status = HttpRequestBlocking(target_, call, result, body);
    if (!status.ok()) return Status(status.code(), "mcp: " + url_ + ": " + status.message());
    return Status::Ok();
  }

  HttpTarget target_;
  std::string url_;
  std::mutex mu_;
  std::string session_;
};

// A tool of an MCP server.
class McpTool final : public Tool {
 public:
  McpTool(std::shared_ptr<McpClient> client, ToolSpec spec) : client_(std::move(client)), spec_(std::move(spec)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<ToolResult> Invoke(std::string_view args, std::chrono::milliseconds timeout) override {
    return client_->CallTool(spec_.name, args, timeout);
  }

 private:
  std::shared_ptr<McpClient> client_;
  ToolSpec spec_;
};

}  // namespace

Result<McpOptions> McpOptionsFromSpec(const std::string& kind, const std::string& arg) {
  McpOptions o;
  if (kind == "mcp-http") {
    if (arg.rfind("http://", 0) != 0 && arg.rfind("https://", 0) != 0)
      return Status(Code::kInvalidArgument, "mcp-http needs an http(s) URL, got '" + arg + "'");
    o.url = arg;
    return o;
  }
  std::string cur;
  char quote = 0;
  bool have = false;
  for (char c : arg) {
    if (quote) {
      if (c == quote) quote = 0;
      else cur += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      have = true;
    } else if (c == ' ') {
      if (have || !cur.empty()) o.command.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
    }
  }
  if (quote) return Status(Code::kInvalidArgument, "mcp: unbalanced quote in '" + arg + "'");
  if (have || !cur.empty()) o.command.push_back(cur);
  if (o.command.empty()) return Status(Code::kInvalidArgument, "mcp needs a command: mcp=<program> <args>");
  return o;
}

McpClient::~McpClient() = default;

std::string McpClient::Meta() const {
  std::string m = "{\"io.modelcontextprotocol/protocolVersion\":";
  m += JsonString(version_);
  m += ",\"io.modelcontextprotocol/clientCapabilities\":{},"
       "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"tandem\",\"version\":\"0.1.0\"}}";
  return m;
}

Result<std::string> McpClient::Request(const std::string& method, const std::string& params_json,
                                       std::chrono::milliseconds timeout, const std::string& name) {
  static std::atomic<int64_t> next_id{1};
  const int64_t id = next_id++;
  std::string params = params_json.empty() ? "{}" : params_json;
  std::vector<std::pair<std::string, std::string>> headers;
  if (stateless_) {
    // The per-request envelope: params._meta (and, over HTTP, the routing headers that mirror it).
    params.pop_back();
    params += std::string(params.size() > 1 ? "," : "") + "\"_meta\":" + Meta() + "}";
    headers.emplace_back("mcp-protocol-version", version_);
    headers.emplace_back("mcp-method", method);
    if (!name.empty()) headers.emplace_back("mcp-name", name);
  } else if (!version_.empty()) {
    headers.emplace_back("mcp-protocol-version", version_);
  }
  std::string msg = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":" + JsonString(method) +
                    ",\"params\":" + params + "}";
  auto reply = transport_->Call(id, msg, headers, timeout);
  if (!reply.ok()) return reply.status();
  simdjson::dom::parser parser;
  element doc, result, error;
  if (parser.parse(reply.value()).get(doc)) return Status(Code::kUpstream, "mcp: unreadable response to " + method);
  if (!doc["error"].get(error)) {
    std::string_view message = "error";
    int64_t code = 0;
    if (error["message"].get(message)) message = "error";
    if (error["code"].get(code)) code = 0;
    return Status(code == -32601 ? Code::kNotFound : Code::kUpstream,
                  "mcp: " + method + " failed: " + std::string(message) + " (" + std::to_string(code) + ")");
  }
  if (doc["result"].get(result)) return Status(Code::kUpstream, "mcp: the response to " + method + " has no result");
  return simdjson::minify(result);
}

Result<std::shared_ptr<McpClient>> McpClient::Connect(const McpOptions& opt) {
  std::shared_ptr<McpClient> c(new McpClient());
  if (!opt.url.empty()) {
    auto t = HttpTransport::Make(opt.url);
    if (!t.ok()) return t.status();
    c->transport_ = std::move(t.value());
  } else {
    auto t = StdioTransport::Start(opt.command);
    if (!t.ok()) return t.status();
    c->transport_ = std::move(t.value());
  }
  simdjson::dom::parser parser;
  element doc;
  if (opt.protocol == "auto" || opt.protocol == kModern) {
    c->stateless_ = true;
    c->version_ = kModern;
    auto found = c->Request("server/discover", "{}", opt.timeout);
    if (found.ok()) {
      simdjson::dom::array versions;
      bool modern = false;
      if (!parser.parse(found.value()).get(doc) && !doc["supportedVersions"].get(versions))
        for (element v : versions) {
          std::string_view s;
          if (!v.get(s) && s == kModern) modern = true;
        }
      std::string_view name;
      if (!doc["_meta"]["io.modelcontextprotocol/serverInfo"]["name"].get(name) || !doc["serverInfo"]["name"].get(name))
        c->server_name_ = std::string(name);
      if (modern) return c;
    }
    if (opt.protocol == kModern)
      return Status(Code::kUnavailable, "mcp: the server does not speak " + std::string(kModern) +
                                            (found.ok() ? "" : ": " + found.status().message()));
    if (!found.ok() && found.status().code() == Code::kDeadlineExceeded) return found.status();
  }
  // The handshake revisions: initialize, then initialized.
  c->stateless_ = false;
  c->version_.clear();
  const std::string init = std::string("{\"protocolVersion\":\"") + kHandshake +
                           "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"tandem\",\"version\":\"0.1.0\"}}";
  auto ready = c->Request("initialize", init, opt.timeout);
  if (!ready.ok()) return ready.status();
  std::string_view version, name;
  if (parser.parse(ready.value()).get(doc) || doc["protocolVersion"].get(version))
    return Status(Code::kUpstream, "mcp: the initialize result has no protocolVersion");
  static const char* kKnown[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
  bool known = false;
  for (const char* k : kKnown) known = known || version == k;
  if (!known) return Status(Code::kUnavailable, "mcp: the server wants protocol " + std::string(version) + ", which Tandem does not speak");
  c->version_ = std::string(version);
  if (!doc["serverInfo"]["name"].get(name)) c->server_name_ = std::string(name);
  Status st = c->transport_->Notify("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                                    {{"mcp-protocol-version", c->version_}});
  if (!st.ok()) return st;
  return c;
}

Result<std::vector<std::shared_ptr<Tool>>> McpClient::ListTools() {
  std::vector<std::shared_ptr<Tool>> tools;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    auto r = Request("tools/list", cursor.empty() ? "{}" : "{\"cursor\":" + JsonString(cursor) + "}",
                     std::chrono::milliseconds(15000));
    if (!r.ok()) return r.status();
    simdjson::dom::parser parser;
    element doc;
    simdjson::dom::array list;
    if (parser.parse(r.value()).get(doc) || doc["tools"].get(list))
      return Status(Code::kUpstream, "mcp: tools/list returned no tools array");
    for (element t : list) {
      ToolSpec spec;
      std::string_view name, description;
      element schema;
      if (t["name"].get(name)) continue;
      spec.name = std::string(name);
      if (!t["description"].get(description)) spec.description = std::string(description);
      if (!t["inputSchema"].get(schema)) spec.parameters = simdjson::minify(schema);
      tools.push_back(std::make_shared<McpTool>(shared_from_this(), std::move(spec)));
    }
    std::string_view next;
    if (doc["nextCursor"].get(next) || next.empty()) break;
    cursor = std::string(next);
  }
  return tools;
}

Result<ToolResult> McpClient::CallTool(const std::string& name, std::string_view args_json,
                                       std::chrono::milliseconds timeout) {
  const std::string params = "{\"name\":" + JsonString(name) + ",\"arguments\":" +
                             std::string(args_json.empty() ? "{}" : args_json) + "}";
  auto r = Request("tools/call", params, timeout, name);
  if (!r.ok()) {
    if (r.status().code() == Code::kUpstream || r.status().code() == Code::kNotFound ||
        r.status().code() == Code::kDeadlineExceeded)
      return ToolResult{r.status().message(), true};  // the model should know the call failed
    return r.status();
  }
  simdjson::dom::parser parser;
  element doc, structured;
  if (parser.parse(r.value()).get(doc)) return Status(Code::kUpstream, "mcp: unreadable tools/call result");
  bool is_error = false;
  if (doc["isError"].get(is_error)) is_error = false;
  std::string text;
  simdjson::dom::array content;
  if (!doc["content"].get(content)) {
    for (element part : content) {
      std::string_view type, t;
      if (!part["type"].get(type) && type == "text" && !part["text"].get(t)) {
        if (!text.empty()) text += "\n";
        text.append(t);
      } else {
        if (!text.empty()) text += "\n";
        text += simdjson::minify(part);
      }
    }
  }
  if (text.empty() && !doc["structuredContent"].get(structured)) text = simdjson::minify(structured);
  return ToolResult{text, is_error};
}

}  // namespace tandem::agency
