// `tandem serve`: load the config, open the ledger, start the HTTP workers, and handle signals:
// SIGINT/SIGTERM drain and stop; SIGHUP reloads the config (a bad one is reported and ignored).
#include <signal.h>

#include <cstdio>

#include "cli/commands.h"
#include "gateway/api.h"
#include "gateway/http_server.h"
#include "gateway/runtime.h"

namespace tandem {
namespace {

void DescribeTiers(const Config& c) {
  bool slm = false, llm = false;
  for (const auto& m : c.models) {
    bool ok = m.unavailable.empty();
    std::fprintf(stderr, "tandem:   model %-24s %s/%s -> %s%s%s\n", m.name.c_str(), TierName(m.tier),
                 LocalityName(m.locality),
                 m.provider == ProviderKind::kLocalEngine ? ("in-process " + m.gguf_path).c_str() : m.base_url.c_str(),
                 ok ? "" : "  UNAVAILABLE: ", m.unavailable.c_str());
    (m.tier == Tier::kSlm ? slm : llm) |= ok;
  }
  if (!llm) {
    std::fprintf(
        stderr,
        "tandem: WARNING: the LLM tier is missing (no cloud model has its API key); requests that would "
        "escalate are answered by the SLM with header x-tandem-escalation: unavailable\n");
  }
  if (!slm) std::fprintf(stderr, "tandem: WARNING: the SLM tier is missing\n");
  if (c.keys.empty()) std::fprintf(stderr, "tandem: WARNING: no client keys configured: the API is open\n");
  if (c.routing.local_only)
    std::fprintf(stderr, "tandem: privacy: local_only (personal data never leaves)\n");
}

}  // namespace

int ServeCommand(const std::string& path) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: only sigwait below sees them
  signal(SIGPIPE, SIG_IGN);

  const Clock& clock = SystemClock::Get();
  auto config = LoadConfig(path, ProcessEnv());
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  ServerConfig server = config->server;
  std::string ledger_path = config->ledger_path;
  DescribeTiers(config.value());
  auto snap = BuildSnapshot(std::move(config.value()), clock);
  if (!snap.ok()) {
    std::fprintf(stderr, "%s\n", snap.status().message().c_str());
    return 1;
  }
  auto ledger = Ledger::Open(ledger_path);
  if (!ledger.ok()) {
    std::fprintf(stderr, "tandem: %s\n", ledger.status().message().c_str());
    return 1;
  }
  auto runs = agency::RunStore::Open(ledger_path);
  if (!runs.ok()) {
    std::fprintf(stderr, "tandem: %s\n", runs.status().message().c_str());
    return 1;
  }
  Runtime rt(snap.value(), std::move(ledger.value()), clock);
  Api api(rt, std::move(runs.value()));
  HttpServer::Options opt;
  opt.host = server.host;
  opt.port = server.port;
  opt.workers = server.workers;
  opt.busy_poll_us = server.busy_poll_us;
  opt.max_body_bytes = [&rt] { return rt.snapshot()->config.server.max_body_bytes; };
  HttpServer http(opt, [&api](const HttpRequestIn& in, Responder& out) { return api.handle(in, out); });
  Status s = http.start();
  if (!s.ok()) {
    std::fprintf(stderr, "tandem: %s\n", s.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "tandem: listening on http://%s:%d (%d workers), ledger %s\n", server.host.c_str(),
               http.port(), server.workers, ledger_path.c_str());
  std::fprintf(stdout, "listening %d\n", http.port());
  std::fflush(stdout);

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      auto next = LoadConfig(path, ProcessEnv());
      if (!next.ok()) {
        std::fprintf(stderr, "tandem: reload rejected, keeping the running config: %s\n",
                     next.status().message().c_str());
        continue;
      }
      if (next->server.host != server.host || next->server.port != server.port ||
          next->ledger_path != ledger_path || next->server.workers != server.workers) {
        std::fprintf(stderr,
                     "tandem: reload: listen address, workers and ledger path need a restart; "
                     "other changes apply now\n");
      }
      auto built = BuildSnapshot(std::move(next.value()), clock);
      if (!built.ok()) {
        std::fprintf(stderr, "tandem: reload rejected, keeping the running config: %s\n",
                     built.status().message().c_str());
        continue;
      }
      DescribeTiers(built.value()->config);
      rt.replace(built.value());
      std::fprintf(stderr, "tandem: config reloaded from %s\n", path.c_str());
      continue;
    }
    std::fprintf(stderr, "tandem: signal %d, draining\n", sig);
    http.stop(10000);
    return 0;
  }
}

}  // namespace tandem
