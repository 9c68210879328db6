#include "providers/http_client.h"

#include <cctype>
#include "core/coarse_timer.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <limits>
#include <map>
#include <memory>

namespace tandem {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::redirect_error;
using asio::use_awaitable;

std::shared_ptr<TlsContext> DefaultTls();

}  // namespace

struct TlsContext {
  ssl::context ctx{ssl::context::tls_client};
};

namespace {

std::shared_ptr<TlsContext> MakeTls(const std::string& ca_file, beast::error_code& ec) {
  auto t = std::make_shared<TlsContext>();
  t->ctx.set_default_verify_paths(ec);
  if (!ec && !ca_file.empty()) t->ctx.load_verify_file(ca_file, ec);
  t->ctx.set_verify_mode(ssl::verify_peer);
  return t;
}

std::shared_ptr<TlsContext> DefaultTls() {
  static std::shared_ptr<TlsContext> ctx = [] {
    beast::error_code ec;
    return MakeTls("", ec);
  }();
  return ctx;
}

// One upstream connection, plain or TLS.
struct Conn {
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<beast::ssl_stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
  tcp::socket& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    beast::error_code ignored;
    lowest().close(ignored);
  }
};

struct PoolEntry {
  std::vector<std::unique_ptr<Conn>> idle;
  tcp::resolver::results_type endpoints;
};

constexpr size_t kMaxIdlePerUpstream = 256;

std::map<std::string, PoolEntry>& Pool() {
  thread_local std::map<std::string, PoolEntry> pool;
  return pool;
}

Status TransportError(const HttpTarget& t, const char* what, const beast::error_code& ec, bool timed_out) {
  if (timed_out) {
    return Status(Code::kDeadlineExceeded, std::string("upstream ") + t.key() + ": timed out during " + what);
  }
  return Status(Code::kUpstream,
                std::string("upstream ") + t.key() + ": " + what + " failed: " + ec.message());
}

asio::awaitable<Result<std::unique_ptr<Conn>>> Connect(const HttpTarget& t, const HttpCall& call) {
  auto exec = co_await asio::this_coro::executor;
  beast::error_code ec;
  PoolEntry& entry = Pool()[t.key()];
  if (entry.endpoints.empty()) {
    tcp::resolver resolver(exec);
    entry.endpoints = co_await resolver.async_resolve(t.host, t.port, redirect_error(use_awaitable, ec));
    if (ec) co_return TransportError(t, "name resolution", ec, false);
  }
  auto conn = std::make_unique<Conn>();
  if (t.tls) {
    TlsContext& tls = t.tls_context ? *t.tls_context : *DefaultTls();
    conn->tls = std::make_unique<beast::ssl_stream<tcp::socket>>(exec, tls.ctx);
  } else {
    conn->plain = std::make_unique<tcp::socket>(exec);
  }
  Deadline deadline(exec);  // connect and TLS handshake
  Conn* raw = conn.get();
  deadline.arm_after_ms(call.timeouts.connect_ms, [raw] { raw->close(); });
  co_await asio::async_connect(conn->lowest(), entry.endpoints, redirect_error(use_awaitable, ec));
  if (ec) {
    entry.endpoints = {};  // resolve again next time
    co_return TransportError(t, "connect", ec, deadline.fired());
  }
  conn->lowest().set_option(tcp::no_delay(true), ec);
  if (t.tls) {
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), t.host.c_str())) {
      co_return Status(Code::kUpstream, "upstream " + t.key() + ": cannot set TLS server name");
    }
    conn->tls->set_verify_callback(ssl::host_name_verification(t.host));
    co_await conn->tls->async_handshake(ssl::stream_base::client, redirect_error(use_awaitable, ec));
    if (ec) co_return TransportError(t, "TLS handshake", ec, deadline.fired());
  }
  co_return std::move(conn);
}

enum class Phase { kBeforeResponse, kHeaders, kBody };

template <class Stream>
asio::awaitable<Status> Exchange(Stream& stream, Conn& conn, const HttpTarget& t, const HttpCall& call,
                                 CancelState& cancel, HttpResult& result, const BodyFn& on_body,
                                 int64_t& wait_us, int64_t start_us, Phase& phase, bool& reusable) {
  beast::error_code ec;
  const int64_t total = start_us + int64_t{call.timeouts.total_ms} * 1000;
  const int64_t first = std::min(total, start_us + int64_t{call.timeouts.first_token_ms} * 1000);
  Deadline deadline(co_await asio::this_coro::executor);
  auto expire = [&conn] { conn.close(); };

  http::request<http::string_body> req{call.method == "GET" ? http::verb::get : http::verb::post, call.path,
                                       11};
  // RFC 9110: the port goes in Host unless it is the scheme's default.
  const bool default_port = t.port == (t.tls ? "443" : "80");
  req.set(http::field::host, default_port ? t.host : t.host + ":" + t.port);
  req.set(http::field::user_agent, "tandem/0.1");
  for (const auto& [k, v] : call.headers) req.set(k, v);
  if (call.method != "GET") {
    req.body() = call.body;
    req.prepare_payload();
  }
  deadline.arm_at(call.stream ? first : total, expire);
  co_await http::async_write(stream, req, redirect_error(use_awaitable, ec));
  if (ec) co_return TransportError(t, "sending the request", ec, deadline.fired());

  http::response_parser<http::buffer_body> parser;
  // Not boost::none: Boost 1.74 compares the length against an empty optional and always fails.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  int64_t t0 = Deadline::NowUs();
  phase = Phase::kHeaders;
  co_await http::async_read_header(stream, conn.buffer, parser, redirect_error(use_awaitable, ec));
  wait_us += Deadline::NowUs() - t0;
  if (ec) co_return TransportError(t, "reading the response headers", ec, deadline.fired());
  phase = Phase::kBody;
  result.status = parser.get().result_int();
  if (auto it = parser.get().find(http::field::retry_after); it != parser.get().end()) {
    result.retry_after = std::string(it->value());
  }
  for (const auto& field : parser.get()) {
    if (!call.keep_headers) break;  // the serving path reads no other header: copy nothing
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  bool ok_status = result.status >= 200 && result.status < 300;
  char chunk[16384];
  bool got_body = false;
  while (!parser.is_done()) {
    if (cancel.cancelled()) co_return Status(Code::kCancelled, "client went away");
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    t0 = Deadline::NowUs();
    co_await http::async_read_some(stream, conn.buffer, parser, redirect_error(use_awaitable, ec));
    wait_us += Deadline::NowUs() - t0;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return TransportError(t, "reading the response body", ec, deadline.fired());
    size_t n = sizeof chunk - parser.get().body().size;
    if (n == 0) continue;
    if (!got_body && call.stream) deadline.arm_at(total, expire);  // the first token came: total from here
    got_body = true;
    if (ok_status) {
      Status s = co_await on_body(std::string_view(chunk, n));
      if (!s.ok()) co_return s;
    } else if (result.error_body.size() < 65536) {
      result.error_body.append(chunk, n);
    }
  }
  reusable = parser.keep_alive() && conn.buffer.size() == 0;
  co_return Status::Ok();
}

}  // namespace

Result<HttpTarget> ParseHttpUrl(const std::string& url, const std::string& ca_file) {
  HttpTarget t;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Status(Code::kInvalidArgument, "URL must start with http:// or https://: " + url);
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  t.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
  if (!hostport.empty() && hostport[0] == '[') {  // [::1]:8080
    size_t close = hostport.find(']');
    if (close == std::string::npos) return Status(Code::kInvalidArgument, "bad IPv6 host in URL: " + url);
    t.host = hostport.substr(1, close - 1);
    t.port = close + 2 <= hostport.size() ? hostport.substr(close + 2) : "";
  } else {
    size_t colon = hostport.rfind(':');
    t.host = hostport.substr(0, colon);
    t.port = colon == std::string::npos ? "" : hostport.substr(colon + 1);
  }
  if (t.port.empty()) t.port = t.tls ? "443" : "80";
  if (t.host.empty()) return Status(Code::kInvalidArgument, "URL has no host: " + url);
  if (!ca_file.empty()) {
    if (!t.tls) return Status(Code::kInvalidArgument, "tls_ca_file is set but the URL is not https: " + url);
    beast::error_code ec;
    t.ca_file = ca_file;
    t.tls_context = MakeTls(ca_file, ec);
    if (ec) return Status(Code::kInvalidArgument, "cannot load CA file " + ca_file + ": " + ec.message());
  }
  return t;
}

asio::awaitable<Status> HttpRequest(const HttpTarget& target, const HttpCall& call, CancelState& cancel,
                                    HttpResult& result, const BodyFn& on_body, int64_t& wait_us) {
  int64_t start_us = Deadline::NowUs();
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Conn> conn;
    bool pooled = false;
    PoolEntry& entry = Pool()[target.key()];
    if (!entry.idle.empty() && attempt == 0) {
      conn = std::move(entry.idle.back());
      entry.idle.pop_back();
      pooled = true;
    } else {
      int64_t t0 = Deadline::NowUs();
      auto c = co_await Connect(target, call);
      wait_us += Deadline::NowUs() - t0;
      if (!c.ok()) co_return c.status();
      conn = std::move(c.value());
    }
    if (cancel.cancelled()) co_return Status(Code::kCancelled, "client went away");
    Conn* raw = conn.get();
    cancel.set_hook([raw] { raw->close(); });
    Phase phase = Phase::kBeforeResponse;
    bool reusable = false;
    result = HttpResult{};
    Status s;  // (no co_await inside ?: — GCC 12 destroys such temporaries twice)
    if (conn->tls) {
      s = co_await Exchange(*conn->tls, *conn, target, call, cancel, result, on_body, wait_us, start_us,
                            phase, reusable);
    } else {
      s = co_await Exchange(*conn->plain, *conn, target, call, cancel, result, on_body, wait_us, start_us,
                            phase, reusable);
    }
    cancel.set_hook(nullptr);
    if (cancel.cancelled()) co_return Status(Code::kCancelled, "client went away");
    if (s.ok()) {
      if (reusable && entry.idle.size() < kMaxIdlePerUpstream) {
        entry.idle.push_back(std::move(conn));
      }
      co_return s;
    }
    // A kept-alive connection the upstream had already closed: try once more on a fresh one.
    bool stale = pooled && phase != Phase::kBody && s.code() == Code::kUpstream;
    if (!stale) co_return s;
  }
  co_return Status(Code::kUpstream, "upstream " + target.key() + ": no usable connection");
}

asio::awaitable<Status> HttpRequestCollect(const HttpTarget& target, const HttpCall& call,
                                           CancelState& cancel, HttpResult& result, std::string& body,
                                           int64_t& wait_us) {
  BodyFn collect = [&body](std::string_view bytes) -> asio::awaitable<Status> {
    body.append(bytes);
    co_return Status::Ok();
  };
  co_return co_await HttpRequest(target, call, cancel, result, collect, wait_us);
}

void ClearConnectionPool() { Pool().clear(); }

Status HttpRequestBlocking(const HttpTarget& target, const HttpCall& call, HttpResult& result, std::string& body) {
  asio::io_context io;
  Status status(Code::kInternal, "not run");
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    CancelState cancel;
    int64_t wait_us = 0;
    status = co_await HttpRequestCollect(target, call, cancel, result, body, wait_us);
    io.stop();  // a kept-alive connection would keep the loop running
  }, asio::detached);
  io.run();
  ClearConnectionPool();
  return status;
}

}  // namespace tandem
