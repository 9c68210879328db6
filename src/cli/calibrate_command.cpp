// `tandem calibrate`: choose the trained router's threshold (routing.slm_scored, else routing.learned) so that a
// sample of traffic sends a target share to the LLM, or (--cascade) the cascade's min_confidence on its calibrated
// router from the SLM's labelled outcomes, for a target share or accuracy; optionally write it into the config.
#include <simdjson.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "eval/dataset.h"
#include "route/confidence_router.h"
#include "gateway/gateway_client.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json_writer.h"
#include "route/calibrate.h"
#include "route/features.h"

namespace tandem {
namespace {

// One sample line: {"prompt": "..."} or a chat request body ({"messages": [...], ...}).
Result<ChatRequest> SampleRequest(const std::string& line) {
  if (line.find("\"messages\"") != std::string::npos) {
    // A recorded request body may or may not name a model; the router decides as for model "auto".
    size_t open = line.find('{');
    std::string body = line;
    if (open != std::string::npos && line.find("\"model\"") == std::string::npos)
      body.insert(open + 1, "\"model\":\"auto\",");
    auto req = ParseChatRequest(body);
    if (!req.ok()) return req.status();
    req->model = "auto";
    return req;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view prompt;
  if (auto err = parser.parse(line).get(doc); err != simdjson::SUCCESS)
    return Status(Code::kInvalidArgument, std::string("malformed JSON (") + simdjson::error_message(err) + ")");
  if (doc["prompt"].get_string().get(prompt) != simdjson::SUCCESS)
    return Status(Code::kInvalidArgument, "expected {\"prompt\": \"...\"} or a chat request {\"messages\": [...]}");
  std::string body;
  JsonWriter w(body);
  w.begin_object().kv("model", "auto").key("messages").begin_array();
  w.begin_object().kv("role", "user").kv("content", prompt).end_object().end_array().end_object();
  return ParseChatRequest(body);
}

// Replaces the number after `key:` on line `line` (1-based) of the file's text; false if it is not there.
bool ReplaceNumberOnLine(std::string& text, int line, const std::string& key, double value) {
  if (line <= 0) return false;
  size_t start = 0;
  for (int i = 1; i < line && start != std::string::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string::npos) ++start;
  }
  if (start == std::string::npos) return false;
  size_t end = text.find('\n', start);
  if (end == std::string::npos) end = text.size();
  size_t k = text.find(key + ":", start);
  if (k == std::string::npos || k >= end) return false;
  size_t v = k + key.size() + 1;
  while (v < end && text[v] == ' ') ++v;
  size_t e = v;
  while (e < end && (std::isdigit(static_cast<unsigned char>(text[e])) || std::strchr("+-.eE", text[e]))) ++e;
  if (e == v) return false;
  char num[32];
  std::snprintf(num, sizeof num, "%.6g", value);
  text.replace(v, e - v, num);
  return true;
}

// Writes `text` over the config file (through a temporary file and a rename).
int WriteConfig(const std::string& config_path, const std::string& text) {
  std::string tmp = config_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) {
      std::fprintf(stderr, "%s: cannot write\n", tmp.c_str());
      return 1;
    }
  }
  std::rename(tmp.c_str(), config_path.c_str());
  std::printf("written:           %s (reload a running gateway with SIGHUP)\n", config_path.c_str());
  return 0;
}

std::string ReadText(const std::string& path) {
  std::ifstream cf(path);
  std::stringstream ss;
  ss << cf.rdbuf();
  return ss.str();
}

int CalibrateCascadeCommand(const CalibrateArgs& a) {
  auto cfg = LoadConfig(a.config, [](const char*) -> const char* { return "unused"; });
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  const CascadeConfig& cc = cfg->routing.cascade;
  if (!cc.enabled || cc.router.empty()) {
    std::fprintf(stderr, "%s: routing.cascade.router (a .tcr made by `tandem train --signals`) is not configured: "
                 "there is no calibrated confidence to set a threshold on\n", a.config.c_str());
    return 1;
  }
  if (a.outcomes.empty()) {
    std::fprintf(stderr, "--cascade needs --outcomes <tandem outcomes JSONL of the configured SLM>\n");
    return 2;
  }
  auto router = ConfidenceRouter::Load(cc.router);
  auto d = eval::LoadJsonl(a.outcomes);
  if (!router.ok() || !d.ok()) {
    std::fprintf(stderr, "%s\n", (!router.ok() ? router.status() : d.status()).message().c_str());
    return 1;
  }
  if (!d->slm.empty() && d->slm != router->slm()) {
    std::fprintf(stderr, "%s: outcomes of '%s', but the router %s was trained for '%s'\n", a.outcomes.c_str(),
                 d->slm.c_str(), cc.router.c_str(), router->slm().c_str());
    return 1;
  }
  std::vector<double> p;
  std::vector<bool> slm_right, llm_right;
  for (size_t i = 0; i < d->prompts.size(); ++i) {
    std::map<std::string, double> sig;
    for (const auto& [name, values] : d->signals) sig[name] = values[i];
    p.push_back(router->p_right(sig));
    slm_right.push_back(d->weak[i] >= 0.5);
    llm_right.push_back(d->strong[i] >= 0.5);
  }
  const bool by_accuracy = a.target_accuracy >= 0;
  const double share = by_accuracy ? -1 : (a.target_share >= 0 ? a.target_share : 0.2);
  CascadeCalibration c = CalibrateCascade(p, slm_right, llm_right, share, a.target_accuracy);
  std::printf("router:            routing.cascade.router (%s)\n", cc.router.c_str());
  std::printf("outcomes:          %zu answers of %s (%s)\n", p.size(), router->slm().c_str(), a.outcomes.c_str());
  std::printf("min_confidence:    %.6g (was %.6g)\n", c.min_confidence, cc.min_confidence);
  std::printf("LLM share:         %.1f%% of the answers", 100 * c.llm_share);
  if (!by_accuracy) std::printf(" (target %.1f%%)", 100 * share);
  std::printf("\naccuracy:          %.1f%% (SLM alone %.1f%%, LLM alone %.1f%%)", 100 * c.accuracy,
              100 * c.slm_accuracy, 100 * c.llm_accuracy);
  if (by_accuracy) std::printf(" (target %.1f%%)", 100 * a.target_accuracy);
  std::printf("\n");
  if (!c.note.empty()) std::printf("note:              %s\n", c.note.c_str());
  const char* key = by_accuracy ? "target_accuracy" : "target_llm_share";
  const double target = by_accuracy ? a.target_accuracy : share;
  if (!a.write) {
    std::printf("config:            routing.cascade: {min_confidence: %.6g, %s: %g}  (--write puts it in %s)\n",
                c.min_confidence, key, target, a.config.c_str());
    return 0;
  }
  std::string text = ReadText(a.config);
  const int target_line = by_accuracy ? cc.target_accuracy_line : cc.target_share_line;
  if (!ReplaceNumberOnLine(text, cc.min_confidence_line, "min_confidence", c.min_confidence) ||
      !ReplaceNumberOnLine(text, target_line, key, target)) {
    std::fprintf(stderr, "%s: --write needs `min_confidence: <number>` and `%s: <number>` already under "
                 "routing.cascade; add them and run again\n", a.config.c_str(), key);
    return 1;
  }
  return WriteConfig(a.config, text);
}

}  // namespace

int CalibrateCommand(const CalibrateArgs& a) {
  if (a.cascade) return CalibrateCascadeCommand(a);
  if (a.target_accuracy >= 0) {
    std::fprintf(stderr, "--target-accuracy needs --cascade (a labelled outcomes file); a traffic sample has no labels\n");
    return 2;
  }
  if (a.sample.empty()) {
    std::fprintf(stderr, "--sample <JSONL> is required (or --cascade --outcomes <file>)\n");
    return 2;
  }
  const std::string& config_path = a.config;
  const std::string& sample = a.sample;
  const double target = a.target_share >= 0 ? a.target_share : 0.2;
  const bool write = a.write;
  if (!(target >= 0 && target <= 1)) {
    std::fprintf(stderr, "--target-llm-share: expected a share in [0, 1], got %g\n", target);
    return 2;
  }
  // The gateway's own objects: the same rules, and for the SLM-scored router the same in-process model.
  // No call leaves this process: API keys are not looked up (an unset one must not fail this).
  auto snap = LoadSnapshot(config_path, [](const char*) -> const char* { return "unused"; });
  if (!snap) return 1;
  const Snapshot& sn = *snap;
  const Config& cfg = sn.config;
  const bool slm = !cfg.routing.slm_scored_router.empty();
  if (!slm && cfg.routing.learned_model.empty()) {
    std::fprintf(stderr, "%s: neither routing.slm_scored nor routing.learned is configured: there is no threshold "
                 "to calibrate\n", config_path.c_str());
    return 1;
  }
  const char* router = slm ? "routing.slm_scored" : "routing.learned";
  std::ifstream in(sample);
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", sample.c_str());
    return 1;
  }
  std::vector<double> scores;
  size_t fixed_llm = 0, total = 0, lineno = 0;
  std::string line;
  GatewayClient client(sn);
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto req = SampleRequest(line);
    if (!req.ok()) {
      std::fprintf(stderr, "%s:%zu: %s\n", sample.c_str(), lineno, req.status().message().c_str());
      return 1;
    }
    Features f = ComputeFeatures(req.value(), *sn.pii, "");
    Decision d = sn.policy->decide(req.value(), f);
    ++total;
    // The SLM-scored stage acts where RoutedCall's would (SlmStagesApply); the learned router on its own decisions.
    const bool scored = slm ? d.open() && !d.local_only : d.kind == RuleKind::kLearned;
    if (scored && slm) {
      auto pooled = client.Encode(req.value());
      if (!pooled.ok()) {
        std::fprintf(stderr, "%s:%zu: %s\n", sample.c_str(), lineno, pooled.status().message().c_str());
        return 1;
      }
      scores.push_back(sn.slm_head->score(pooled.value()));
    } else if (scored) {
      scores.push_back(d.score);
    } else if (const ModelInfo* m = cfg.find(d.model); m && m->tier == Tier::kLlm) {
      ++fixed_llm;
    }
  }
  if (total == 0) {
    std::fprintf(stderr, "%s: no requests in the sample\n", sample.c_str());
    return 1;
  }
  Calibration c = CalibrateThreshold(scores, fixed_llm, total, target);
  const double old = slm ? cfg.routing.slm_scored_threshold : cfg.routing.learned_threshold;
  std::printf("router:            %s\n", router);
  std::printf("sample:            %zu requests (%s)\n", total, sample.c_str());
  std::printf("rules to the LLM:  %zu (%.1f%%); decided by the router: %zu\n", fixed_llm, 100 * c.rules_share,
              c.learned);
  std::printf("threshold:         %.6g (was %.6g)\n", c.threshold, old);
  std::printf("LLM share:         %.1f%% of the sample (target %.1f%%)\n", 100 * c.achieved_share, 100 * target);
  if (!c.note.empty()) std::printf("note:              %s\n", c.note.c_str());
  if (!write) {
    std::printf("config:            %s: {threshold: %.6g, target_llm_share: %g}  (--write puts it in %s)\n", router,
                c.threshold, target, config_path.c_str());
    return 0;
  }
  std::string text = ReadText(config_path);
  const int threshold_line = slm ? cfg.routing.slm_scored_threshold_line : cfg.routing.threshold_line;
  if (!ReplaceNumberOnLine(text, threshold_line, "threshold", c.threshold) ||
      !ReplaceNumberOnLine(text, cfg.routing.target_line, "target_llm_share", target)) {
    std::fprintf(stderr, "%s: --write needs `threshold: <number>` and `target_llm_share: <number>` already under %s; "
                 "add them and run again\n", config_path.c_str(), router);
    return 1;
  }
  return WriteConfig(config_path, text);
}

}  // namespace tandem
