// route_bench: how long a routing decision takes — features (task type, PII scan), the rules, and the learned
// router — on prompts of 50 and 2,000 tokens. Prints decisions/s and p50/p99 per stage, each timed per call.
// Usage: route_bench <config.yaml> [iterations]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "config/config.h"
#include "route/features.h"
#include "route/rules_policy.h"

using namespace tandem;
using Clock = std::chrono::steady_clock;

namespace {

std::string Prompt(size_t tokens) {
  const char* words[] = {"the",        "router",   "decides", "whether",   "a",        "small",
                         "model",      "can",      "answer",  "this",      "question", "about",
                         "contracts,", "invoices", "and",     "quarterly", "numbers",  "42."};
  std::string p;
  for (size_t i = 0; p.size() < tokens * 4; ++i) {
    p += words[i % 18];
    p += (i % 23 == 22) ? "\n" : " ";
  }
  return p;
}

template <class F>
void Time(const char* name, size_t tokens, int iterations, F&& f) {
  std::vector<double> us;
  us.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    auto t0 = Clock::now();
    f();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  double total = 0;
  for (double u : us) total += u;
  std::printf("%-28s %5zu tokens  %10.0f decisions/s  p50 %8.2f us  p99 %8.2f us\n", name, tokens,
              iterations / (total / 1e6), us[us.size() / 2], us[us.size() * 99 / 100]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: route_bench <config.yaml> [iterations]\n");
    return 2;
  }
  int iterations = argc > 2 ? std::atoi(argv[2]) : 2000;
  auto config = LoadConfig(argv[1], [](const char*) -> const char* { return "unused"; });
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  auto policy = RulesPolicy::Build(config.value());
  if (!policy.ok()) {
    std::fprintf(stderr, "%s\n", policy.status().message().c_str());
    return 1;
  }
  PiiDetector pii(config->routing.pii_kinds);
  std::unique_ptr<LearnedRouter> learned;
  if (!config->routing.learned_model.empty()) {
    auto m = LearnedRouter::Load(config->routing.learned_model);
    if (m.ok()) learned = std::make_unique<LearnedRouter>(std::move(m.value()));
  }
  std::printf("config %s: %zu rules, learned router %s\n", argv[1], config->routing.rules.size(),
              config->routing.learned_model.empty() ? "off" : config->routing.learned_model.c_str());
  for (size_t tokens : {50, 2000}) {
    std::string body =
        "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"" + Prompt(tokens) + "\"}]}";
    for (char& c : body) {
      if (c == '\n') c = ' ';
    }
    auto req = ParseChatRequest(body);
    if (!req.ok()) {
      std::fprintf(stderr, "%s\n", req.status().message().c_str());
      return 1;
    }
    Features f = ComputeFeatures(req.value(), pii, "");
    Time("parse request", tokens, iterations, [&] { auto r = ParseChatRequest(body); });
    Time("features (task, PII)", tokens, iterations, [&] { auto x = ComputeFeatures(req.value(), pii, ""); });
    Time("  task type", tokens, iterations, [&] { auto t = ClassifyTask(req->last_user_text()); });
    Time("  PII scan", tokens, iterations, [&] { auto k = pii.kinds_in(req->all_text()); });
    if (learned) Time("  learned router score", tokens, iterations, [&] { double s = learned->score(req->last_user_text(), f.task); (void)s; });
    Time("decide (rules, learned)", tokens, iterations,
         [&] { auto d = policy.value()->decide(req.value(), f); });
    Time("features + decide", tokens, iterations, [&] {
      Features g = ComputeFeatures(req.value(), pii, "");
      auto d = policy.value()->decide(req.value(), g);
    });
  }
  return 0;
}
