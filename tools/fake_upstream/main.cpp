// fake_upstream: an OpenAI- and Anthropic-compatible fake model server for tests and benchmarks.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "fake_llm.h"
#include "gateway/http_server.h"

int main(int argc, char** argv) {
  CLI::App app{"Fake OpenAI/Anthropic upstream for Tandem's tests and benchmarks"};
  tandem::fake::Settings s;
  int port = 0, threads = 1;
  std::string host = "127.0.0.1";
  app.add_option("--host", host);
  app.add_option("--port", port, "0 = pick a free port; the chosen one is printed as 'listening <port>'");
  app.add_option("--threads", threads);
  app.add_option("--name", s.name);
  app.add_option("--latency-ms", s.latency_ms, "Delay before the first byte");
  app.add_option("--chunk-delay-ms", s.chunk_delay_ms, "Delay between streamed chunks");
  app.add_option("--words", s.words, "Words per answer");
  app.add_option("--require-key", s.require_key, "Refuse requests without this key (401)");
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  tandem::fake::FakeLlm fake(s);
  tandem::HttpServer::Options opt;
  opt.host = host;
  opt.port = port;
  opt.workers = threads;
  opt.max_body_bytes = [] { return size_t{64} << 20; };
  tandem::HttpServer server(
      opt, [&fake](const tandem::HttpRequestIn& in, tandem::Responder& out) { return fake.handle(in, out); });
  tandem::Status st = server.start();
  if (!st.ok()) {
    std::fprintf(stderr, "fake_upstream: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("listening %d\n", server.port());
  std::fflush(stdout);
  int sig;
  sigwait(&signals, &sig);
  server.stop(1000);
  return 0;
}
