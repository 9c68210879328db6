// route_bench: how long a routing decision takes — features (task type, PII scan), the rules, and the learned
// router — on prompts of 50 and 2,000 tokens. Prints decisions/s and p50/p99 per stage, each timed per call, the
// stages interleaved; the worst path (every rule evaluated, then the learned router) beside its peer, a plain
// loop of the same median time, and the same path over different prompts in turn, each parsed just before (as
// in the gateway), so the router's table slots are cold. ROUTE_BENCH_PERCENTILES=1 adds p90/p95/p98/max;
// ROUTE_BENCH_STAGE=<part of a name> runs only the stages so named (for a profiler).
// Usage: route_bench <config.yaml> [iterations]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "route/scan_simd.h"
#include "route/features.h"
#include "route/keyword_set.h"
#include "route/rules_policy.h"

using namespace tandem;
using Clock = std::chrono::steady_clock;

namespace {

// Prose of ~4 bytes a token: words drawn (fixed seed) from a few hundred common ones with a Zipf-like skew, some
// numbers and punctuation. Not a repeated sentence: a repeating text would let every branch and cache line of
// the routers settle, and flatter them.
std::string Prompt(size_t tokens, uint64_t seed = 42) {
  static const char* kWords[] = {
      "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not",
      "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were",
      "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would",
      "who", "so", "no", "router", "model", "answer", "question", "contract", "invoice", "quarterly", "numbers",
      "revenue", "customer", "support", "ticket", "policy", "clause", "payment", "schedule", "delivery",
      "supplier", "warranty", "liability", "termination", "notice", "period", "agreement", "party", "parties",
      "shall", "provide", "services", "within", "days", "after", "receipt", "written", "request", "report",
      "analysis", "market", "growth", "percent", "increase", "decrease", "compared", "previous", "year",
      "region", "europe", "america", "asia", "product", "launch", "team", "meeting", "decision", "budget",
      "forecast", "risk", "assessment", "compliance", "regulation", "data", "privacy", "security", "system",
      "network", "server", "database", "query", "latency", "throughput", "error", "failure", "retry",
      "explain", "describe", "compare", "evaluate", "consider", "following", "example", "however", "therefore",
      "because", "although", "whether", "between", "during", "against", "without", "through", "important",
      "significant", "different", "available", "possible", "necessary", "specific", "general", "particular",
      "history", "science", "physics", "chemistry", "biology", "economics", "philosophy", "law", "medicine",
      "patient", "treatment", "symptoms", "diagnosis", "study", "results", "evidence", "theory", "experiment"};
  constexpr size_t kCount = sizeof kWords / sizeof *kWords;
  uint64_t state = seed;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  std::string p;
  while (p.size() < tokens * 4) {
    const uint32_t r = next();
    const size_t i = (r % kCount) * (r % kCount) / kCount;  // skewed towards the common words
    if (r % 29 == 0) {
      p += std::to_string(r % 10000);
    } else {
      p += kWords[i];
    }
    p += (r % 37 == 0) ? ".\n" : (r % 11 == 0) ? ", " : " ";
  }
  return p;
}

// A chat request body with Prompt(tokens, seed) as its one user message (newlines as spaces: no escaping).
std::string Body(size_t tokens, uint64_t seed = 42) {
  std::string b = "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"" + Prompt(tokens, seed) +
                  "\"}]}";
  for (char& c : b) {
    if (c == '\n') c = ' ';
  }
  return b;
}

struct Stats {
  double p50 = 0, p99 = 0;
};

struct Stage {
  std::string name;
  std::function<void()> run;
  std::vector<double> us;
  Stats stats;
  std::function<void()> prepare;  // untimed, before each run (when set)
};

volatile uint64_t benchmark_sink = 0;  // keeps a stage's result alive

double Micros(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

// Times every stage once per round, round after round, so that the machine's slow and quiet spells fall on all
// of them alike; then prints each stage's rate and percentiles.
void RunInterleaved(std::vector<Stage>& stages, size_t tokens, int iterations) {
  for (auto& st : stages) st.us.reserve(static_cast<size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    for (auto& st : stages) {
      if (st.prepare) st.prepare();
      const auto t0 = Clock::now();
      st.run();
      st.us.push_back(Micros(t0));
    }
  }
  for (auto& st : stages) {
    auto& us = st.us;
    std::sort(us.begin(), us.end());
    double total = 0;
    for (double u : us) total += u;
    st.stats = Stats{us[us.size() / 2], us[us.size() * 99 / 100]};
    std::printf("%-30s %5zu tokens  %10.0f decisions/s  p50 %8.2f us  p99 %8.2f us", st.name.c_str(), tokens,
                static_cast<double>(iterations) / (total / 1e6), st.stats.p50, st.stats.p99);
    if (std::getenv("ROUTE_BENCH_PERCENTILES")) {
      for (int q : {90, 95, 98}) std::printf("  p%d %.2f", q, us[us.size() * static_cast<size_t>(q) / 100]);
      std::printf("  max %.2f", us.back());
    }
    std::printf("\n");
  }
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
  std::printf("config %s: %zu rules, learned router %s; SIMD %s (TANDEM_SIMD=avx2 or TANDEM_FORCE_SCALAR=1 caps it)\n",
              argv[1], config->routing.rules.size(),
              config->routing.learned_model.empty() ? "off" : config->routing.learned_model.c_str(),
              route_simd::LevelName(route_simd::ActiveLevel()));
  for (size_t tokens : {50, 2000}) {
    const std::string body = Body(tokens);
    auto req = ParseChatRequest(body);
    if (!req.ok()) {
      std::fprintf(stderr, "%s\n", req.status().message().c_str());
      return 1;
    }
    Features f = ComputeFeatures(req.value(), pii, "");
    // The slowest path: every rule is evaluated and none matches, so the learned router decides. Rules that
    // match this prompt are dropped from a copy of the config until the learned router is what decides.
    std::unique_ptr<RulesPolicy> worst;
    size_t kept = 0;
    if (learned) {
      Config c = config.value();
      for (;;) {
        auto p = RulesPolicy::Build(c);
        if (!p.ok()) break;
        const Decision d = p.value()->decide(req.value(), f);
        auto it = std::find_if(c.routing.rules.begin(), c.routing.rules.end(),
                               [&](const RuleSpec& r) { return r.name == d.rule; });
        if (it == c.routing.rules.end()) {
          if (d.rule == "learned") worst = std::move(p.value());
          break;
        }
        c.routing.rules.erase(it);
      }
      kept = c.routing.rules.size();
    }
    auto whole = [&] {
      Features g = ComputeFeatures(req.value(), pii, "");
      auto d = worst->decide(req.value(), g);
    };
    // The same path over 64 different prompts in turn, as live traffic would be: each request is parsed just
    // before (untimed), as the gateway does, so its text is as warm as there, while the router's table slots are
    // another prompt's. Prompts where a remaining rule would match are left out, so each call takes the worst
    // path.
    std::vector<std::string> bodies;
    for (uint64_t k = 0; k < 64 && worst; ++k) {
      std::string b = Body(tokens, 1000 + k);
      auto r = ParseChatRequest(b);
      if (r.ok() && worst->decide(r.value(), ComputeFeatures(r.value(), pii, "")).rule == "learned")
        bodies.push_back(std::move(b));
    }
    size_t turn = 0;
    std::optional<ChatRequest> live;
    auto parse_next = [&] {
      auto r = ParseChatRequest(bodies[turn++ % bodies.size()]);
      live.emplace(std::move(r.value()));
    };
    auto whole_live = [&] {
      Features g = ComputeFeatures(*live, pii, "");
      auto d = worst->decide(*live, g);
    };
    // The peer: a plain loop over the prompt, sized to take the whole decision's median time. On a shared VM
    // its p99 shows how much of the decision's tail is the machine's (interrupts, steal), not the router's.
    const std::string_view text = req->last_user_text();
    // `bytes` bytes of the prompt, from its start and round again (one pass of a 2,000-token prompt alone
    // takes longer than the decision).
    auto spin = [&](size_t bytes) {
      uint64_t h = 0;
      size_t left = bytes;
      while (left > 0) {
        const size_t n = std::min(left, text.size());
        for (size_t k = 0; k < n; ++k) h = h * 31 + static_cast<unsigned char>(text[k]);
        left -= n;
      }
      benchmark_sink = h;
    };
    size_t reps = 0;  // bytes the loop reads
    if (worst) {  // calibrate: medians of the decision and of the loop over `trial` bytes, alternating; twice,
                  // since a short loop's per-call overhead makes the first scaling overshoot
      volatile size_t trial = 4096;  // not a constant the loop could be specialised for
      for (int pass = 0; pass < 2; ++pass) {
        std::vector<double> d, l;
        for (int i = 0; i < 2000; ++i) {
          auto t0 = Clock::now();
          whole();
          d.push_back(Micros(t0));
          t0 = Clock::now();
          spin(trial);
          l.push_back(Micros(t0));
        }
        std::sort(d.begin(), d.end());
        std::sort(l.begin(), l.end());
        reps = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(trial) * d[d.size() / 2] /
                                                           std::max(l[l.size() / 2], 1e-3) + 0.5));
        trial = reps;
      }
    }
    std::vector<Stage> stages;
    stages.push_back({"parse request", [&] { auto r = ParseChatRequest(body); }, {}, {}, {}});
    stages.push_back({"features (task, PII)", [&] { auto x = ComputeFeatures(req.value(), pii, ""); }, {}, {}, {}});
    stages.push_back({"  task type", [&] { auto t = ClassifyTask(req->last_user_text()); }, {}, {}, {}});
    stages.push_back({"  PII scan", [&] {  // what ComputeFeatures scans: each message, then the other strings
                        size_t kinds = pii.kinds_in(req->other_text).size();
                        for (const auto& m : req->messages) kinds += pii.kinds_in(m.text).size();
                        benchmark_sink = kinds;
                      }, {}, {}, {}});
    std::vector<std::string> all_keywords;  // every rule's, as one set: what the rules compare at most
    for (const auto& r : config->routing.rules) {
      all_keywords.insert(all_keywords.end(), r.keywords.begin(), r.keywords.end());
    }
    const KeywordSet keywords(all_keywords);
    if (!keywords.empty()) {
      stages.push_back({"  rule keywords (" + std::to_string(all_keywords.size()) + ")",
                        [&] { benchmark_sink = keywords.FirstIn(text) != nullptr; }, {}, {}, {}});
    }
    if (learned) {
      stages.push_back(
          {"  learned router score", [&] { benchmark_sink = static_cast<uint64_t>(learned->score(text, f.task) * 1e9); }, {}, {}, {}});
    }
    stages.push_back({"decide (config's rules)", [&] { auto d = policy.value()->decide(req.value(), f); }, {}, {}, {}});
    stages.push_back({"features + decide", [&] {
                        Features g = ComputeFeatures(req.value(), pii, "");
                        auto d = policy.value()->decide(req.value(), g);
                      }, {}, {}, {}});
    size_t worst_at = 0;  // the worst path's stage; the peer loop and the prompts in turn follow it
    if (worst && !bodies.empty()) {
      worst_at = stages.size();
      stages.push_back({"features + " + std::to_string(kept) + " rules + learned", whole, {}, {}, {}});
      stages.push_back({"  plain loop, same median", [&] { spin(reps); }, {}, {}, {}});
      stages.push_back({"  the same, " + std::to_string(bodies.size()) + " prompts in turn", whole_live, {}, {}, parse_next});
    }
    if (const char* only = std::getenv("ROUTE_BENCH_STAGE")) {  // for a profiler: the stages named so, alone
      stages.erase(std::remove_if(stages.begin(), stages.end(),
                                  [&](const Stage& st) { return st.name.find(only) == std::string::npos; }),
                   stages.end());
      RunInterleaved(stages, tokens, iterations);
      continue;
    }
    RunInterleaved(stages, tokens, iterations);
    if (worst && !bodies.empty()) {
      const Stats& parse = stages.front().stats;
      const Stats& s = stages[worst_at].stats;
      const Stats& loop = stages[worst_at + 1].stats;
      const Stats& many = stages[worst_at + 2].stats;
      std::printf("%-30s %5zu tokens  p50 %.2f us, p99 %.2f us (%zu prompts in turn: p50 %.2f us, p99 %.2f us); "
                  "the plain loop's p99 %.2f us (ratio %.2f); %.2fx parsing the request\n",
                  "whole decision (worst path)", tokens, s.p50, s.p99, bodies.size(), many.p50, many.p99,
                  loop.p99, s.p99 / loop.p99, s.p50 / parse.p50);
    }
  }
  return 0;
}
