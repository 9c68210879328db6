// `tandem eval-routes`: how often the described-routes router (routing.routes) picks the labelled route, on a
// JSONL of {"prompt", "route"} lines, with the gateway's own snapshot and in-process SLM; the per-route confusion,
// and what each pick cost (prompt tokens, of them cached, route-name tokens beyond the prompt, time).
#include <simdjson.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "cli/commands.h"
#include "core/json_writer.h"
#include "gateway/gateway_client.h"

namespace tandem {

int RoutesEvalCommand(const std::string& config_path, const std::string& data, int limit) {
  auto snap = LoadSnapshot(config_path, [](const char*) -> const char* { return "unused"; });
  if (!snap) return 1;
  const auto& routes = snap->config.routing.routes;
  if (routes.empty()) {
    std::fprintf(stderr, "%s: routing.routes is not configured\n", config_path.c_str());
    return 1;
  }
  std::ifstream in(data);
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", data.c_str());
    return 1;
  }
  GatewayClient client(*snap);
  simdjson::dom::parser parser;
  std::map<std::string, std::map<std::string, int>> confusion;  // label -> pick -> count
  int n = 0, right = 0;
  double prompt_tokens = 0, cached = 0, extra = 0, ms = 0;
  std::string line;
  for (int lineno = 1; std::getline(in, line) && (limit <= 0 || n < limit); ++lineno) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::dom::element doc;
    std::string_view prompt, label;
    if (parser.parse(line).get(doc) || doc["prompt"].get(prompt) || doc["route"].get(label)) {
      std::fprintf(stderr, "%s:%d: expected {\"prompt\": \"...\", \"route\": \"...\"}\n", data.c_str(), lineno);
      return 1;
    }
    std::string body;
    JsonWriter w(body);
    w.begin_object().kv("model", "auto").key("messages").begin_array();
    w.begin_object().kv("role", "user").kv("content", prompt).end_object().end_array().end_object();
    auto req = ParseChatRequest(body);
    if (!req.ok()) {
      std::fprintf(stderr, "%s:%d: %s\n", data.c_str(), lineno, req.status().message().c_str());
      return 1;
    }
    auto pick = client.PickRoute(req.value());
    if (!pick.ok()) {
      std::fprintf(stderr, "%s:%d: %s\n", data.c_str(), lineno, pick.status().message().c_str());
      return 1;
    }
    const std::string& chosen = routes[pick->index].name;
    ++confusion[std::string(label)][chosen];
    ++n;
    right += chosen == label;
    prompt_tokens += static_cast<double>(pick->scores.prompt_tokens);
    cached += static_cast<double>(pick->scores.cached_tokens);
    extra += static_cast<double>(pick->scores.extra_tokens);
    ms += static_cast<double>(pick->took_us) / 1000.0;
    if (n % 25 == 0) std::fprintf(stderr, "\r%d prompts, %.1f%% right", n, 100.0 * right / n);
  }
  if (n == 0) {
    std::fprintf(stderr, "%s: no prompts\n", data.c_str());
    return 1;
  }
  std::fprintf(stderr, "\n");
  std::printf("described routes: %zu (%s), %d labelled prompts from %s\n", routes.size(),
              snap->config.routing.slm_model.c_str(), n, data.c_str());
  std::printf("accuracy:         %.1f%% (%d of %d)\n", 100.0 * right / n, right, n);
  std::printf("cost per pick:    %.0f prompt tokens (%.0f cached), +%.1f route-name tokens, %.0f ms mean\n",
              prompt_tokens / n, cached / n, extra / n, ms / n);
  std::printf("%-14s %6s %7s  picked as\n", "label", "n", "right");
  for (const auto& [label, picks] : confusion) {
    int total = 0;
    for (const auto& [_, c] : picks) total += c;
    const int ok = picks.count(label) ? picks.at(label) : 0;
    std::string as;
    for (const auto& [pick, c] : picks) as += (as.empty() ? "" : ", ") + pick + " " + std::to_string(c);
    std::printf("%-14s %6d %6.1f%%  %s\n", label.c_str(), total, 100.0 * ok / total, as.c_str());
  }
  return 0;
}

}  // namespace tandem
