// HttpServer: the gateway's HTTP/1.1 front end (Boost.Beast, C++20 coroutines).
//
// One event loop per worker thread; each worker has its own acceptor on the same port (SO_REUSEPORT), so
// a connection lives its whole life on one thread and nothing on the request path takes a lock. Bodies
// over the configured limit get 413 without being read; malformed HTTP gets 400. While a request is being
// answered the connection is watched for the client hanging up, which cancels the upstream call.
// start() binds (port 0 picks a free port; port() tells which) and runs the workers; stop() closes the
// acceptors and lets requests in flight finish. Thread-safe: start/stop from one controlling thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "gateway/http_exchange.h"

namespace tandem {

class HttpServer {
 public:
  using Handler = std::function<asio::awaitable<void>(const HttpRequestIn&, Responder&)>;
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    int workers = 2;
    std::function<size_t()> max_body_bytes = [] { return size_t{4} << 20; };
    int idle_timeout_s = 120;
    int busy_poll_us = 0;  // >0: poll this long for new events before sleeping (lower latency, more CPU)
  };

  HttpServer(Options options, Handler handler);
  ~HttpServer();

  Status start();
  int port() const;
  // Stops accepting, waits up to `grace_ms` for open requests, then stops the loops.
  void stop(int grace_ms = 5000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem
