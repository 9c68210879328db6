// loadgen: an open-loop HTTP load generator that does not suffer from coordinated omission.
//
// Request i is due at t0 + i/rate whether or not earlier ones have finished; its latency is measured from
// that due time, so a stalled server shows up as latency rather than as fewer requests sent. Connections
// are kept alive and opened on demand up to --connections. Prints one JSON object with the percentiles.
//
// Modes:  --rate R --duration S      fixed-rate load
//         --concurrent N             N simultaneous (streaming) requests, each on its own connection
#include "core/asio.h"  // first: Asio's coroutine support, in the order Boost 1.74 needs

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using asio::redirect_error;
using asio::use_awaitable;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/v1/chat/completions";
  std::string body;
  double rate = 100;
  double duration = 5;
  int connections = 256;
  int concurrent = 0;
  std::string header;  // "name: value"
};

struct Stats {
  std::vector<int64_t> latencies_us;
  int64_t errors = 0;
  int64_t sent = 0;
  std::string first_error;
};

struct Conn {
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  explicit Conn(asio::any_io_executor ex) : stream(ex) {}
};

class Generator {
 public:
  Generator(asio::io_context& ioc, Options opt) : ioc_(ioc), opt_(std::move(opt)) {}

  asio::awaitable<void> run_rate() {
    tcp::resolver resolver(ioc_);
    endpoints_ = co_await resolver.async_resolve(opt_.host, opt_.port, use_awaitable);
    auto t0 = Clock::now();
    int64_t total = static_cast<int64_t>(opt_.rate * opt_.duration);
    asio::steady_timer timer(ioc_);
    for (int64_t i = 0; i < total; ++i) {
      auto due =
          t0 + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * static_cast<double>(i) / opt_.rate));
      timer.expires_at(due);
      beast::error_code ec;
      co_await timer.async_wait(redirect_error(use_awaitable, ec));
      ++stats_.sent;
      asio::co_spawn(ioc_, one(due), asio::detached);
    }
  }

  asio::awaitable<void> run_concurrent() {
    tcp::resolver resolver(ioc_);
    endpoints_ = co_await resolver.async_resolve(opt_.host, opt_.port, use_awaitable);
    auto now = Clock::now();
    for (int i = 0; i < opt_.concurrent; ++i) {
      ++stats_.sent;
      asio::co_spawn(ioc_, one(now, /*fresh=*/true), asio::detached);
    }
    co_return;
  }

  const Stats& stats() const { return stats_; }

 private:
  asio::awaitable<std::unique_ptr<Conn>> acquire(bool fresh) {
    while (true) {
      if (!fresh && !idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        co_return c;
      }
      if (fresh || open_ < opt_.connections) {
        ++open_;
        auto c = std::make_unique<Conn>(ioc_.get_executor());
        beast::error_code ec;
        c->stream.expires_after(std::chrono::seconds(10));
        co_await c->stream.async_connect(endpoints_, redirect_error(use_awaitable, ec));
        if (ec) {
          --open_;
          co_return nullptr;
        }
        c->stream.socket().set_option(tcp::no_delay(true));
        co_return c;
      }
      asio::steady_timer t(ioc_, std::chrono::microseconds(50));  // wait for a connection to free up
      co_await t.async_wait(use_awaitable);
    }
  }

  void fail(const std::string& why) {
    ++stats_.errors;
    if (stats_.first_error.empty()) stats_.first_error = why;
  }

  asio::awaitable<void> one(Clock::time_point due, bool fresh = false) {
    auto c = co_await acquire(fresh);
    if (!c) {
      fail("connect failed");
      co_return;
    }
    http::request<http::string_body> req{http::verb::post, opt_.path, 11};
    req.set(http::field::host, opt_.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::authorization, "Bearer bench");
    if (!opt_.header.empty()) {
      auto colon = opt_.header.find(':');
      req.set(opt_.header.substr(0, colon), opt_.header.substr(colon + 2));
    }
    req.body() = opt_.body;
    req.prepare_payload();
    req.keep_alive(true);
    beast::error_code ec;
    c->stream.expires_after(std::chrono::seconds(60));
    co_await http::async_write(c->stream, req, redirect_error(use_awaitable, ec));
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec) co_await http::async_read(c->stream, c->buffer, parser, redirect_error(use_awaitable, ec));
    auto done = Clock::now();
    if (ec) {
      --open_;
      fail("transport: " + ec.message());
      co_return;
    }
    auto& res = parser.get();
    if (res.result_int() != 200) {
      fail("HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 200));
    } else if (res.body().find("\"error\"") != std::string::npos &&
               res.body().find("[DONE]") == std::string::npos &&
               res.body().find("choices") == std::string::npos) {
      fail("error body: " + res.body().substr(0, 200));
    } else {
      stats_.latencies_us.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(done - due).count());
    }
    if (res.keep_alive()) {
      c->stream.expires_never();
      idle_.push_back(std::move(c));
    } else {
      --open_;
    }
  }

  asio::io_context& ioc_;
  Options opt_;
  tcp::resolver::results_type endpoints_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
  Stats stats_;
};

int64_t Pct(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

int main(int argc, char** argv) {
  CLI::App app{"Open-loop HTTP load generator"};
  Options opt;
  std::string url = "127.0.0.1:8080", body_file;
  app.add_option("--target", url, "host:port");
  app.add_option("--path", opt.path);
  app.add_option("--body", opt.body, "request body");
  app.add_option("--body-file", body_file);
  app.add_option("--rate", opt.rate, "requests per second");
  app.add_option("--duration", opt.duration, "seconds");
  app.add_option("--connections", opt.connections, "most connections to open");
  app.add_option("--concurrent", opt.concurrent, "instead of a rate: this many requests at once");
  app.add_option("--header", opt.header, "extra header 'name: value'");
  CLI11_PARSE(app, argc, argv);
  auto colon = url.rfind(':');
  opt.host = url.substr(0, colon);
  opt.port = url.substr(colon + 1);
  if (!body_file.empty()) {
    std::ifstream in(body_file);
    std::stringstream ss;
    ss << in.rdbuf();
    opt.body = ss.str();
  }
  asio::io_context ioc(1);
  Generator gen(ioc, opt);
  auto start = Clock::now();
  if (opt.concurrent > 0) {
    asio::co_spawn(ioc, gen.run_concurrent(), asio::detached);
  } else {
    asio::co_spawn(ioc, gen.run_rate(), asio::detached);
  }
  ioc.run();
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  Stats s = gen.stats();
  std::sort(s.latencies_us.begin(), s.latencies_us.end());
  std::printf(
      "{\"target_rate\":%.1f,\"sent\":%lld,\"ok\":%zu,\"errors\":%lld,\"wall_s\":%.3f,\"achieved_rate\":%.1f,"
      "\"p50_us\":%lld,\"p90_us\":%lld,\"p99_us\":%lld,\"p999_us\":%lld,\"max_us\":%lld,\"first_error\":\"%"
      "s\"}\n",
      opt.concurrent > 0 ? 0.0 : opt.rate, (long long)s.sent, s.latencies_us.size(), (long long)s.errors,
      wall, static_cast<double>(s.latencies_us.size()) / std::max(wall, 1e-9),
      (long long)Pct(s.latencies_us, 0.5), (long long)Pct(s.latencies_us, 0.9),
      (long long)Pct(s.latencies_us, 0.99), (long long)Pct(s.latencies_us, 0.999),
      (long long)(s.latencies_us.empty() ? 0 : s.latencies_us.back()),
      [&] {
        std::string e = s.first_error;
        for (char& ch : e) {
          if (ch == '"' || ch == '\\' || ch == '\n' || ch == '\r') ch = ' ';
        }
        return e;
      }()
          .c_str());
  return 0;
}
