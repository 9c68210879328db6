// RulesPolicy: ordered, hand-written routing rules over request features.
//
// Order of precedence, first match wins:
//   1. a request naming a configured model goes to it (unless privacy forbids: then the SLM tier);
//   2. privacy: with `privacy: local_only`, personal data pins the request to local models, and no later
//      rule, header or fallback can send it to the cloud;
//   3. the client header x-tandem-tier: slm|llm;
//   4. the configured rules, in order; every condition of a rule must hold;
//   5. the trade-off router (routing.tradeoff), if configured: among its models, the best predicted answer
//      for the price (lambda from the x-tandem-tradeoff header or the config), or the best that fits the
//      x-tandem-max-cost-usd budget; costs estimated from the configured prices;
//      else the learned router (routing.learned), if configured: score >= threshold goes to the LLM tier;
//   6. routing.default.
// Build() compiles the rules' regexes and reports a bad one as "<file>:<line>: ...". Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "route/keyword_set.h"
#include "route/learned_router.h"
#include "route/multi_router.h"
#include "route/policy.h"

namespace re2 {
class RE2;
}

namespace tandem {

class RulesPolicy final : public Policy {
 public:
  static Result<std::unique_ptr<RulesPolicy>> Build(const Config& config);
  ~RulesPolicy() override;

  Decision decide(const ChatRequest& req, const Features& f) const override;

  // The model a target ("slm", "llm" or a model name) stands for.
  std::string resolve(const std::string& target) const;

 private:
  struct CompiledRule {
    RuleSpec spec;
    std::unique_ptr<re2::RE2> regex;
    std::unique_ptr<KeywordSet> keywords;
  };
  RulesPolicy() = default;
  Decision DecideTradeoff(const ChatRequest& req, const Features& f, Decision d) const;
  bool matches(const CompiledRule& r, const ChatRequest& req, const Features& f, std::string* why) const;

  Config config_;  // a copy: the policy outlives a reload of the shared config
  std::vector<CompiledRule> rules_;
  std::unique_ptr<LearnedRouter> learned_;
  std::unique_ptr<MultiRouter> tradeoff_;
  std::vector<const ModelInfo*> tradeoff_targets_;  // per router model: the configured model (nullptr = none)
};

}  // namespace tandem
