// HttpExchange: one HTTP request as the handlers see it, and the Responder they answer through.
//
// This keeps the handlers free of Beast: the server (http_server.cpp) adapts a Beast connection to these
// interfaces, and tests can drive handlers with an in-memory Responder. A Responder belongs to one
// connection on one worker thread; it is not thread-safe. Its CancelState fires when the client
// disconnects before the answer is complete.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/asio.h"
#include "core/status.h"
#include "providers/provider.h"

namespace tandem {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequestIn {
  std::string method;
  std::string target;  // path and query
  std::string body;
  Headers headers;  // lower-case names
  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
  std::string path() const { return target.substr(0, target.find('?')); }
};

class Responder {
 public:
  virtual ~Responder() = default;
  // A complete answer.
  virtual asio::awaitable<Status> send(int status, const Headers& headers, std::string body) = 0;
  // A streamed answer: headers now (chunked transfer), then write() pieces, then finish() with trailers.
  virtual asio::awaitable<Status> start_stream(int status, const Headers& headers,
                                               const std::vector<std::string>& trailer_names) = 0;
  virtual asio::awaitable<Status> write(std::string_view data) = 0;
  virtual asio::awaitable<Status> finish(const Headers& trailers) = 0;
  virtual bool started() const = 0;
  virtual CancelState& cancel() = 0;
  // Drops the connection at once, mid-answer if need be (used to simulate dying upstreams).
  virtual void abort() = 0;
};

// The OpenAI error body: {"error": {"message", "type", "param", "code"}}.
std::string ErrorBody(const Status& s);
// Sends `s` as an OpenAI error with its HTTP status.
asio::awaitable<Status> SendError(Responder& r, const Status& s, Headers extra = {});

}  // namespace tandem
