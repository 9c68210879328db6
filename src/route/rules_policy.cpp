#include "route/rules_policy.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace tandem {

const char* RuleKindName(RuleKind k) {
  switch (k) {
    case RuleKind::kDefault: return "default";
    case RuleKind::kRequested: return "requested";
    case RuleKind::kHeader: return "header";
    case RuleKind::kPrivacy: return "privacy";
    case RuleKind::kRule: return "rule";
    case RuleKind::kMedia: return "media";
    case RuleKind::kTradeoff: return "tradeoff";
    case RuleKind::kLearned: return "learned";
    case RuleKind::kSlmScored: return "slm-scored";
    case RuleKind::kRoute: return "route";
  }
  return "?";
}

std::string Decision::reasons_joined() const {
  std::string out;
  for (const auto& r : reasons) {
    if (!out.empty()) out.append("; ");
    out.append(r);
  }
  return out;
}

Result<std::unique_ptr<RulesPolicy>> RulesPolicy::Build(const Config& config) {
  std::unique_ptr<RulesPolicy> p(new RulesPolicy());
  p->config_ = config;
  for (const auto& spec : config.routing.rules) {
    CompiledRule r{spec, nullptr, {}};
    if (!spec.regex.empty()) {
      RE2::Options opt;
      opt.set_log_errors(false);
      r.regex = std::make_unique<RE2>(spec.regex, opt);
      if (!r.regex->ok()) {
        return Status(Code::kInvalidArgument, config.path + ":" + std::to_string(spec.line) + ": rule '" +
                                                  spec.name + "': bad regex: " + r.regex->error());
      }
    }
    r.keywords = std::make_unique<KeywordSet>(spec.keywords);
    p->rules_.push_back(std::move(r));
  }
  if (!config.routing.learned_model.empty()) {
    auto model = LearnedRouter::Load(config.routing.learned_model);
    if (!model.ok()) {
      return Status(Code::kInvalidArgument, config.path + ":" + std::to_string(config.routing.learned_line) +
                                                ": routing.learned.model: " + model.status().message());
    }
    p->learned_ = std::make_unique<LearnedRouter>(std::move(model.value()));
  }
  if (!config.routing.tradeoff_router.empty()) {
    const RoutingConfig& rc = config.routing;
    auto model = MultiRouter::Load(rc.tradeoff_router);
    std::string where = config.path + ":" + std::to_string(rc.tradeoff_line) + ": routing.tradeoff.router: ";
    if (!model.ok()) return Status(Code::kInvalidArgument, where + model.status().message());
    p->tradeoff_ = std::make_unique<MultiRouter>(std::move(model.value()));
    for (const auto& [name, target] : rc.tradeoff_models) {
      const auto& known = p->tradeoff_->models();
      if (std::find(known.begin(), known.end(), name) == known.end())
        return Status(Code::kInvalidArgument, where + "the router has no model '" + name + "' (it has " +
                                                  std::to_string(known.size()) + " models; tandem eval lists them)");
    }
    for (const auto& name : p->tradeoff_->models()) {
      auto it = rc.tradeoff_models.find(name);
      p->tradeoff_targets_.push_back(it == rc.tradeoff_models.end() ? nullptr : p->config_.find(it->second));
    }
  }
  if (config.routing.slm_model.empty() && config.routing.llm_model.empty()) {
    return Status(Code::kInvalidArgument, config.path + ": no model in tier slm or llm");
  }
  return p;
}

RulesPolicy::~RulesPolicy() = default;

std::string RulesPolicy::resolve(const std::string& target) const {
  if (target == "slm")
    return config_.routing.slm_model.empty() ? config_.routing.llm_model : config_.routing.slm_model;
  if (target == "llm")
    return config_.routing.llm_model.empty() ? config_.routing.slm_model : config_.routing.llm_model;
  return target;
}

bool RulesPolicy::matches(const CompiledRule& r, const ChatRequest& req, const Features& f,
                          std::string* why) const {
  const RuleSpec& s = r.spec;
  std::string w;
  auto add = [&](const std::string& part) { w += (w.empty() ? "" : ", ") + part; };
  if (s.min_tokens) {
    if (f.prompt_tokens < *s.min_tokens) return false;
    add("tokens=" + std::to_string(f.prompt_tokens) + ">=" + std::to_string(*s.min_tokens));
  }
  if (s.max_tokens) {
    if (f.prompt_tokens > *s.max_tokens) return false;
    add("tokens=" + std::to_string(f.prompt_tokens) + "<=" + std::to_string(*s.max_tokens));
  }
  if (s.min_turns) {
    if (f.turns < *s.min_turns) return false;
    add("turns=" + std::to_string(f.turns) + ">=" + std::to_string(*s.min_turns));
  }
  if (s.max_turns) {
    if (f.turns > *s.max_turns) return false;
    add("turns=" + std::to_string(f.turns) + "<=" + std::to_string(*s.max_turns));
  }
  if (s.tools) {
    if ((f.tools > 0) != *s.tools) return false;
    add("tools=" + std::to_string(f.tools));
  }
  if (s.pii) {
    if (f.pii.empty() == *s.pii) return false;
    add(f.pii.empty() ? "no personal data" : "personal data");
  }
  if (s.media) {
    if (f.media != *s.media) return false;
    add(f.media ? "media" : "text only");
  }
  if (!s.tasks.empty()) {
    if (std::find(s.tasks.begin(), s.tasks.end(), f.task) == s.tasks.end()) return false;
    add("task=" + f.task);
  }
  if (r.keywords && !r.keywords->empty()) {
    const std::string* k = r.keywords->FirstIn(req.last_user_text());
    if (!k) return false;
    add("keyword '" + *k + "'");
  }
  if (r.regex) {
    std::string_view text = req.last_user_text();
    if (!RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *r.regex)) return false;
    add("regex /" + s.regex + "/");
  }
  *why = w;
  return true;
}

Decision RulesPolicy::DecideTradeoff(const ChatRequest& req, const Features& f, Decision d) const {
  const RoutingConfig& rc = config_.routing;
  std::vector<double> p = tradeoff_->Predict(req.last_user_text(), f.task);
  const int64_t out_tokens = req.max_tokens.value_or(rc.tradeoff_output_tokens);
  std::vector<double> cost(p.size(), -1);  // -1: not a candidate
  for (size_t m = 0; m < p.size(); ++m) {
    const ModelInfo* target = tradeoff_targets_[m];
    if (target)
      cost[m] = (target->usd_per_mtok_in * static_cast<double>(f.prompt_tokens) +
                 target->usd_per_mtok_out * static_cast<double>(out_tokens)) / 1e6;
  }
  int chosen;
  char why[256];
  if (f.max_cost_usd >= 0) {
    chosen = MultiRouter::ChooseWithinBudget(p, cost, f.max_cost_usd);
    std::snprintf(why, sizeof why, "trade-off router: budget $%.6g", f.max_cost_usd);
  } else {
    double lambda = f.tradeoff >= 0 ? f.tradeoff : rc.tradeoff_lambda;
    chosen = MultiRouter::Choose(p, cost, lambda);
    std::snprintf(why, sizeof why, "trade-off router: lambda %.3g", lambda);
  }
  const size_t c = static_cast<size_t>(chosen);
  const ModelInfo* target = tradeoff_targets_[c];
  char detail[256];
  std::snprintf(detail, sizeof detail, " -> %s (p(good) %.2f, ~$%.6f)", target->name.c_str(), p[c], cost[c]);
  d.reasons.push_back(std::string(why) + detail);
  d.rule = "tradeoff";
  d.kind = RuleKind::kTradeoff;
  d.model = target->name;
  d.score = target->tier == Tier::kLlm ? 1 : 0;
  return d;
}

Decision RulesPolicy::decide(const ChatRequest& req, const Features& f) const {
  Decision d;
  const RoutingConfig& rc = config_.routing;
  const std::string slm = resolve("slm");
  d.local_only = rc.local_only && !f.pii.empty();
  std::string pii_list;
  for (const auto& k : f.pii) pii_list += (pii_list.empty() ? "" : ",") + k;

  auto finish = [&](const std::string& model, double score) {
    d.model = model;
    d.score = score;
    const ModelInfo* m = config_.find(model);
    if (d.local_only && m && m->locality == Locality::kCloud) {
      d.reasons.push_back("privacy local_only: personal data (" + pii_list + ") keeps it on " + slm);
      d.model = slm;
      d.score = 0;
    }
    return d;
  };

  std::string requested = req.model;
  if (auto alias = rc.aliases.find(requested); alias != rc.aliases.end()) {
    d.reasons.push_back("alias " + requested + " -> " + alias->second);
    requested = alias->second;
  }
  if (requested != "auto") {
    std::string model = resolve(requested);
    d.reasons.push_back(requested == model ? "requested model " + model : "requested tier " + requested);
    d.kind = RuleKind::kRequested;
    return finish(model, config_.find(model) && config_.find(model)->tier == Tier::kLlm ? 1 : 0);
  }
  if (d.local_only) {
    d.reasons.push_back("privacy local_only: personal data (" + pii_list + ")");
    d.rule = "privacy";
    d.kind = RuleKind::kPrivacy;
    d.model = slm;
    return d;
  }
  if (f.header_tier == "slm" || f.header_tier == "llm") {
    d.reasons.push_back("header x-tandem-tier: " + f.header_tier);
    d.kind = RuleKind::kHeader;
    return finish(resolve(f.header_tier), f.header_tier == "llm" ? 1 : 0);
  }
  for (const auto& r : rules_) {
    std::string why;
    if (matches(r, req, f, &why)) {
      d.rule = r.spec.name;
      d.kind = RuleKind::kRule;
      d.reasons.push_back("rule " + r.spec.name + ": " + why);
      std::string model = resolve(r.spec.target);
      const ModelInfo* m = config_.find(model);
      return finish(model, m && m->tier == Tier::kLlm ? 1 : 0);
    }
  }
  // The in-process engine reads text only; a request with an image, audio or file part goes where it can be
  // read (a rule above can send it elsewhere, e.g. to a local OpenAI-compatible server with a vision model).
  if (f.media) {
    const ModelInfo* s = config_.find(slm);
    const std::string llm = resolve("llm");
    if (s && !s->reads_media() && llm != slm) {
      d.reasons.push_back("media: " + slm + " reads text only");
      d.rule = "media";
      d.kind = RuleKind::kMedia;
      return finish(llm, 1);
    }
  }
  if (tradeoff_) return DecideTradeoff(req, f, std::move(d));
  if (learned_) {
    double score = learned_->score(req.last_user_text(), f.task);
    bool llm = score >= rc.learned_threshold;
    char why[96];
    std::snprintf(why, sizeof why, "learned router: score %.3f %s threshold %.3f", score, llm ? ">=" : "<",
                  rc.learned_threshold);
    d.reasons.push_back(why);
    d.rule = "learned";
    d.kind = RuleKind::kLearned;
    return finish(resolve(llm ? "llm" : "slm"), score);
  }
  d.reasons.push_back("default: " + rc.default_target + " (task=" + f.task +
                      ", tokens=" + std::to_string(f.prompt_tokens) + ")");
  std::string model = resolve(rc.default_target);
  const ModelInfo* m = config_.find(model);
  return finish(model, m && m->tier == Tier::kLlm ? 1 : 0);
}

}  // namespace tandem
