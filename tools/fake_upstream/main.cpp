// fake_upstream: an OpenAI- and Anthropic-compatible fake model server for tests and benchmarks.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <simdjson.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

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
  std::string answers;
  app.add_option("--answers", answers,
                 "JSON lines {\"prompt\": <last user message>, \"tools\": [<names offered>], \"tool_calls\": "
                 "[{\"name\", \"arguments\"}]}: scripted tool calls");
  CLI11_PARSE(app, argc, argv);
  if (!answers.empty()) {
    auto map = std::make_shared<std::map<std::string, std::string>>();
    std::ifstream in(answers);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", answers.c_str());
      return 1;
    }
    simdjson::dom::parser parser;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      simdjson::dom::element doc, calls;
      std::string_view prompt;
      if (parser.parse(line).get(doc) || doc["prompt"].get(prompt) || doc["tool_calls"].get(calls)) {
        std::fprintf(stderr, "%s:%d: expected {\"prompt\", \"tool_calls\"}\n", answers.c_str(), n);
        return 1;
      }
      std::string key = std::string(prompt) + "\x1f";
      simdjson::dom::array tools;
      if (!doc["tools"].get(tools)) {
        for (simdjson::dom::element t : tools) {
          std::string_view name;
          if (!t.get(name)) key.append(name).push_back(',');
        }
      }
      (*map)[key] = simdjson::minify(calls);
    }
    s.answers = map;
  }

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
