// `tandem eval-tools`: function-calling accuracy on BFCL cases, the way BFCL's AST checker scores it, for any
// configured model and for the routed system ("auto"), with parse failures, latency and cost per case.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "agency/bfcl.h"
#include "cli/commands.h"
#include "gateway/gateway_client.h"
#include "core/json_writer.h"

namespace tandem {
namespace {

struct Outcome {
  bool correct = false, parse_failure = false;
  std::string why, model;
  double ms = 0, cost = 0;
};

}  // namespace

int EvalToolsCommand(const EvalToolsArgs& a) {
  std::vector<std::string> categories, models;
  for (auto [src, dst] : {std::pair{&a.categories, &categories}, std::pair{&a.models, &models}}) {
    std::stringstream ss(*src);
    for (std::string x; std::getline(ss, x, ',');)
      if (!x.empty()) dst->push_back(x);
  }
  auto cases = agency::LoadBfcl(a.data, categories);
  if (!cases.ok()) {
    std::fprintf(stderr, "%s\n", cases.status().message().c_str());
    return 1;
  }
  // At most `limit` cases per category, picked at random (seeded) so a quick run is still a fair sample.
  if (a.limit > 0) {
    std::map<std::string, std::vector<agency::BfclCase>> by;
    for (auto& c : *cases) by[c.category].push_back(std::move(c));
    cases->clear();
    std::mt19937_64 rng(a.seed);
    for (auto& [cat, list] : by) {
      std::shuffle(list.begin(), list.end(), rng);
      if (list.size() > static_cast<size_t>(a.limit)) list.resize(static_cast<size_t>(a.limit));
      for (auto& c : list) cases->push_back(std::move(c));
    }
  }
  auto snap = LoadSnapshot(a.config);
  if (!snap) return 1;
  const Snapshot& sn = *snap;
  for (const auto& m : models) {
    if (m != "auto" && !sn.config.find(m) && !sn.config.routing.aliases.count(m)) {
      std::fprintf(stderr, "--models: no model or alias named '%s' in %s\n", m.c_str(), a.config.c_str());
      return 2;
    }
  }
  std::ofstream details;
  if (!a.out.empty()) details.open(a.out);
  GatewayClient client(sn);
  std::printf("%zu BFCL cases (%s)\n", cases->size(), a.categories.c_str());
  std::printf("%-18s %6s %9s %9s %10s %12s   %s\n", "model", "cases", "accuracy", "parse-fail", "ms/case", "$/case",
              "accuracy by category");
  for (const auto& model : models) {
    std::map<std::string, std::pair<int, int>> per_cat;  // right, total
    std::map<std::string, int> served;
    int right = 0, parse_failures = 0;
    double ms = 0, cost = 0;
    for (const auto& c : *cases) {
      std::string body;
      JsonWriter w(body);
      w.begin_object().kv("model", model).key("messages").begin_array();
      for (const auto& m : c.messages) w.begin_object().kv("role", m.role).kv("content", m.content).end_object();
      w.end_array().key("tools").raw(agency::BfclTools(c)).kv("temperature", 0.0).kv("max_tokens", int64_t{a.max_tokens});
      w.end_object();
      auto req = ParseChatRequest(body);
      Outcome o;
      if (!req.ok()) {
        o.parse_failure = true;
        o.why = req.status().message();
      } else {
        auto t0 = std::chrono::steady_clock::now();
        GatewayClient::Answer answer = client.Chat(req.value());
        o.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        o.model = answer.model;
        o.cost = answer.cost_usd;
        if (!answer.status.ok()) {
          o.why = "call failed: " + answer.status.message();
        } else {
          std::string text;
          bool malformed = false;
          auto calls = agency::ResponseCalls(answer.body, &text, &malformed);
          // An answer in words where a call was due, that holds no call we can read, fails to parse too.
          o.parse_failure = malformed || (calls.empty() && !text.empty() && !c.ground_truth.empty());
          agency::CheckResult check = agency::CheckCalls(c, calls);
          o.correct = check.correct && !o.parse_failure;
          o.why = o.parse_failure ? "unparsable call" : check.why;
        }
      }
      right += o.correct;
      parse_failures += o.parse_failure;
      ms += o.ms;
      cost += o.cost;
      per_cat[c.category].first += o.correct;
      per_cat[c.category].second += 1;
      served[o.model] += 1;
      if (details) {
        std::string line;
        JsonWriter dw(line);
        dw.begin_object().kv("model", model).kv("served_by", o.model).kv("id", c.id).kv("correct", o.correct);
        dw.kv("parse_failure", o.parse_failure).kv("why", o.why).kv("ms", o.ms).kv("cost_usd", o.cost).end_object();
        details << line << "\n";
      }
    }
    const double n = std::max<double>(1, static_cast<double>(cases->size()));
    std::string cats;
    for (const auto& [cat, rt] : per_cat) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s%s %.0f%%", cats.empty() ? "" : ", ", cat.c_str(),
                    100.0 * rt.first / std::max(1, rt.second));
      cats += buf;
    }
    std::printf("%-18s %6zu %8.1f%% %8.1f%% %10.1f %12.7f   %s\n", model.c_str(), cases->size(), 100 * right / n,
                100 * parse_failures / n, ms / n, cost / n, cats.c_str());
    if (served.size() > 1 || (!served.empty() && served.begin()->first != model)) {
      std::string mix;
      for (const auto& [m, k] : served) mix += (mix.empty() ? "" : ", ") + m + " " + std::to_string(k);
      std::printf("%-18s served by: %s\n", "", mix.c_str());
    }
  }
  return 0;
}

}  // namespace tandem
