#include "gateway/http_server.h"

#include "core/coarse_timer.h"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

namespace tandem {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::redirect_error;
using asio::use_awaitable;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

void LogException(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "tandem: connection task failed: %s\n", ex.what());
  }
}

class BeastResponder final : public Responder {
 public:
  BeastResponder(tcp::socket& stream, bool keep_alive, const asio::any_io_executor& exec)
      : stream_(stream), keep_alive_(keep_alive), write_deadline_(exec) {}

  asio::awaitable<Status> send(int status, const Headers& headers, std::string body) override {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    for (const auto& [k, v] : headers) res.set(k, v);
    res.set(http::field::server, "tandem");
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    started_ = true;
    beast::error_code ec;
    arm_write();
    co_await http::async_write(stream_, res, redirect_error(use_awaitable, ec));
    co_return Track(ec);
  }

  asio::awaitable<Status> start_stream(int status, const Headers& headers,
                                       const std::vector<std::string>& trailer_names) override {
    head_.result(static_cast<http::status>(status));
    head_.version(11);
    for (const auto& [k, v] : headers) head_.set(k, v);
    head_.set(http::field::server, "tandem");
    std::string trailer;
    for (const auto& t : trailer_names) trailer += (trailer.empty() ? "" : ", ") + t;
    if (!trailer.empty()) head_.set(http::field::trailer, trailer);
    head_.keep_alive(keep_alive_);
    head_.chunked(true);
    started_ = true;
    beast::error_code ec;
    arm_write();
    co_await http::async_write_header(stream_, serializer_, redirect_error(use_awaitable, ec));
    co_return Track(ec);
  }

  asio::awaitable<Status> write(std::string_view data) override {
    if (broken_) co_return Status(Code::kCancelled, "client connection is gone");
    beast::error_code ec;
    arm_write();
    co_await asio::async_write(stream_, http::make_chunk(asio::buffer(data.data(), data.size())),
                               redirect_error(use_awaitable, ec));
    co_return Track(ec);
  }

  asio::awaitable<Status> finish(const Headers& trailers) override {
    if (broken_) co_return Status(Code::kCancelled, "client connection is gone");
    http::fields t;
    for (const auto& [k, v] : trailers) t.set(k, v);
    beast::error_code ec;
    arm_write();
    co_await asio::async_write(stream_, http::make_chunk_last(t), redirect_error(use_awaitable, ec));
    co_return Track(ec);
  }

  bool started() const override { return started_; }
  CancelState& cancel() override { return cancel_; }
  void abort() override {
    broken_ = true;
    beast::error_code ec;
    stream_.shutdown(tcp::socket::shutdown_both, ec);
    stream_.close(ec);
  }
  bool broken() const { return broken_; }

 private:
  // A client that stops reading gets 60 s per write before its connection is closed.
  void arm_write() {
    write_deadline_.arm_after_ms(60000, [this] {
      beast::error_code ignored;
      stream_.close(ignored);
    });
  }

  Status Track(const beast::error_code& ec) {
    write_deadline_.disarm();
    if (!ec) return Status::Ok();
    broken_ = true;
    cancel_.cancel();
    return Status(Code::kCancelled, "writing to the client failed: " + ec.message());
  }

  tcp::socket& stream_;
  bool keep_alive_;
  Deadline write_deadline_;
  bool started_ = false;
  bool broken_ = false;
  CancelState cancel_;
  http::response<http::empty_body> head_;
  http::response_serializer<http::empty_body> serializer_{head_};
};

// Watches an idle-reading client socket while its request is answered; a hang-up cancels the request.
struct Watch {
  bool active = true;
  bool started = false;
  CancelState* cancel = nullptr;
};

asio::awaitable<void> WatchClient(tcp::socket& socket, std::shared_ptr<Watch> w) {
  beast::error_code ec;
  co_await socket.async_wait(tcp::socket::wait_read, redirect_error(use_awaitable, ec));
  if (!w->active) co_return;  // the request finished; the socket may be gone
  if (!ec) {
    char byte;
    size_t n = socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    if (!ec && n > 0) co_return;  // a pipelined request, not a hang-up
  }
  w->cancel->cancel();
}

}  // namespace

struct HttpServer::Impl {
  struct Worker {
    asio::io_context ioc{1};
    std::unique_ptr<tcp::acceptor> acceptor;
    std::thread thread;
  };

  Options opt;
  Handler handler;
  std::vector<std::unique_ptr<Worker>> workers;
  int port = 0;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopped{false};

  asio::awaitable<void> Reject(tcp::socket& socket, beast::flat_buffer& buffer, int status,
                               const std::string& body) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.keep_alive(false);
    res.body() = body;
    res.prepare_payload();
    beast::error_code ec;
    Deadline deadline(socket.get_executor());
    auto close = [&socket] {
      beast::error_code ignored;
      socket.close(ignored);
    };
    deadline.arm_after_ms(5000, close);
    co_await http::async_write(socket, res, redirect_error(use_awaitable, ec));
    // Read and drop what the client is still sending, briefly, so it sees our answer rather than a reset.
    socket.shutdown(tcp::socket::shutdown_send, ec);
    deadline.arm_after_ms(2000, close);
    size_t drained = 0;
    while (!ec && drained < (size_t{64} << 20)) {
      buffer.clear();
      drained += co_await socket.async_read_some(buffer.prepare(65536), redirect_error(use_awaitable, ec));
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    auto exec = co_await asio::this_coro::executor;
    beast::flat_buffer buffer;
    beast::error_code ec;
    Deadline idle(exec);
    auto close = [&socket] {
      beast::error_code ignored;
      socket.close(ignored);
    };
    while (!stopped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(opt.max_body_bytes());
      parser.header_limit(64 * 1024);
      idle.arm_after_ms(int64_t{opt.idle_timeout_s} * 1000, close);
      co_await http::async_read(socket, buffer, parser, redirect_error(use_awaitable, ec));
      idle.disarm();
      if (ec == http::error::body_limit) {
        co_await Reject(socket, buffer, 413,
                        "{\"error\":{\"message\":\"request body is larger than the limit of " +
                            std::to_string(opt.max_body_bytes()) +
                            " bytes\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
                            "\"payload_too_large\"}}");
        co_return;
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || idle.fired()) {
        break;
      }
      if (ec) {
        co_await Reject(socket, buffer, 400,
                        "{\"error\":{\"message\":\"malformed HTTP request: " + ec.message() +
                            "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"bad_http\"}}");
        co_return;
      }
      auto& msg = parser.get();
      HttpRequestIn in;
      in.method = std::string(msg.method_string());
      in.target = std::string(msg.target());
      in.body = std::move(msg.body());
      for (const auto& field : msg) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        in.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      bool keep_alive = msg.keep_alive();
      BeastResponder responder(socket, keep_alive, exec);
      // Watch for a hang-up only once the request has lasted a tick: quick requests cost no extra system
      // call.
      auto watch = std::make_shared<Watch>();
      watch->cancel = &responder.cancel();
      Deadline watch_start(exec);
      watch_start.arm_after_ms(0, [&socket, watch, exec] {
        watch->started = true;
        asio::co_spawn(exec, WatchClient(socket, watch), LogException);
      });
      ++in_flight;
      co_await handler(in, responder);
      --in_flight;
      watch_start.disarm();
      watch->active = false;
      if (watch->started) socket.cancel(ec);
      if (responder.broken() || !keep_alive) break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::awaitable<void> Accept(tcp::acceptor& acceptor) {
    auto exec = co_await asio::this_coro::executor;
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {  // e.g. out of file descriptors: back off briefly instead of spinning
        asio::steady_timer t(exec, std::chrono::milliseconds(20));
        co_await t.async_wait(redirect_error(use_awaitable, ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(exec, Session(std::move(socket)), LogException);
    }
  }
};

HttpServer::HttpServer(Options options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(0); }

Status HttpServer::start() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->opt.host, ec);
  if (ec) return Status(Code::kInvalidArgument, "listen address '" + impl_->opt.host + "': " + ec.message());
  int port = impl_->opt.port;
  for (int i = 0; i < std::max(1, impl_->opt.workers); ++i) {
    auto w = std::make_unique<Impl::Worker>();
    w->acceptor = std::make_unique<tcp::acceptor>(w->ioc);
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    w->acceptor->open(ep.protocol(), ec);
    if (!ec) w->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) w->acceptor->set_option(ReusePort(true), ec);
    if (!ec) w->acceptor->bind(ep, ec);
    if (!ec) w->acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(Code::kUnavailable,
                    "cannot listen on " + impl_->opt.host + ":" + std::to_string(port) + ": " + ec.message());
    }
    port = w->acceptor->local_endpoint().port();
    impl_->workers.push_back(std::move(w));
  }
  impl_->port = port;
  for (auto& w : impl_->workers) {
    Impl::Worker* raw = w.get();
    asio::co_spawn(raw->ioc, impl_->Accept(*raw->acceptor), LogException);
    int spin_us = impl_->opt.busy_poll_us;
    raw->thread = std::thread([raw, spin_us] {
      auto guard = asio::make_work_guard(raw->ioc);
      if (spin_us <= 0) {
        raw->ioc.run();
        return;
      }
      // Busy-poll: after the last piece of work, keep polling for `spin_us` before sleeping in the kernel,
      // trading a core's idle time for the wake-up latency of the next event.
      while (!raw->ioc.stopped()) {
        if (raw->ioc.poll() > 0) continue;
        auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
        bool worked = false;
        while (!raw->ioc.stopped() && std::chrono::steady_clock::now() < until) {
          if (raw->ioc.poll() > 0) {
            worked = true;
            break;
          }
        }
        if (!worked) raw->ioc.run_one();
      }
    });
  }
  return Status::Ok();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::stop(int grace_ms) {
  if (impl_->stopped.exchange(true)) return;
  for (auto& w : impl_->workers) {
    asio::post(w->ioc, [raw = w.get()] {
      beast::error_code ec;
      raw->acceptor->close(ec);
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (impl_->in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& w : impl_->workers) w->ioc.stop();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace tandem
