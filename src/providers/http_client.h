// HttpClient: HTTP/1.1 requests to upstreams over TCP or TLS, streaming the response body as it comes.
//
// Connections are kept alive and pooled per worker thread (thread_local), so a busy upstream costs one
// handshake per connection, not per request. Timeouts: connect, first byte (response headers, and for
// streams the first body bytes), and total. A pooled connection that turns out to be dead before any
// response byte is replaced transparently once. Calls must run on the event loop of the calling worker
// thread; nothing here is shared across threads except the TLS context (thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/asio.h"
#include "core/model_info.h"
#include "core/status.h"
#include "providers/provider.h"  // first: brings <utility> before Asio
#include "providers/provider.h"

namespace tandem {

struct TlsContext;  // an OpenSSL client context (opaque here)

struct HttpTarget {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base_path;  // "/v1", without trailing slash
  std::string ca_file;    // extra trust anchor (PEM) for a private CA; "" = the system's CAs only
  std::shared_ptr<TlsContext> tls_context;
  std::string key() const { return (tls ? "https://" : "http://") + host + ":" + port + "#" + ca_file; }
};

// Parses an http(s) URL. `ca_file` (https only) adds a PEM trust anchor; a missing or bad file is an error.
Result<HttpTarget> ParseHttpUrl(const std::string& url, const std::string& ca_file = "");

struct HttpCall {
  std::string method = "POST";
  std::string path;  // absolute path, base_path included
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  Timeouts timeouts;
  bool stream = false;  // the first-byte timeout also covers the first body bytes
  bool keep_headers = false;  // copy every response header into HttpResult::headers (off on the serving path)
};

struct HttpResult {
  int status = 0;
  std::string retry_after;  // Retry-After header, if any
  std::string error_body;   // the body of a >= 400 answer (at most 64 KiB)
  std::vector<std::pair<std::string, std::string>> headers;  // with HttpCall::keep_headers; names in lower case
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return "";
  }
};

// Called with each piece of the body of a 2xx answer, in order. A non-OK Status aborts the call.
using BodyFn = std::function<asio::awaitable<Status>(std::string_view bytes)>;

// Performs `call` against `target`. Returns OK once a complete answer was read (any HTTP status: see
// `result.status`); kUpstream on connection errors, kDeadlineExceeded on timeouts, kCancelled if `cancel`
// fired, or the Status returned by `on_body`. `wait_us` accumulates time spent waiting on the upstream.
asio::awaitable<Status> HttpRequest(const HttpTarget& target, const HttpCall& call, CancelState& cancel,
                                    HttpResult& result, const BodyFn& on_body, int64_t& wait_us);

// HttpRequest that collects a 2xx body into `body`.
asio::awaitable<Status> HttpRequestCollect(const HttpTarget& target, const HttpCall& call,
                                           CancelState& cancel, HttpResult& result, std::string& body,
                                           int64_t& wait_us);

// Drops this thread's pooled connections (tests, reload).
void ClearConnectionPool();

// HttpRequestCollect from a thread that has no event loop of its own (tools, the CLI): runs the call on a
// private loop, then drops the connections that belonged to it (and the rest of this thread's pool). Blocks.
Status HttpRequestBlocking(const HttpTarget& target, const HttpCall& call, HttpResult& result, std::string& body);

}  // namespace tandem
