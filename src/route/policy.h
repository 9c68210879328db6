// Decision and Policy: what a router outputs, and the interface every router implements.
//
// A Policy is pure and fast: no I/O, no blocking, thread-safe (decide() is const and may be called from
// every worker at once). It sees the parsed request and its features and names the model to use, a
// score (higher = more in need of the large model) and the human-readable reasons that end up in the
// x-tandem-route header and the ledger.
#pragma once

#include <string>
#include <vector>

#include "core/chat_request.h"
#include "route/features.h"

namespace tandem {

// Which stage of the decision chose the model. The gateway's later stages (the SLM-scored router, the cascade)
// act only on decisions that no explicit choice made: kDefault and kLearned.
enum class RuleKind {
  kDefault,    // routing.default
  kRequested,  // the client named a model or tier (or an alias of one)
  kHeader,     // x-tandem-tier
  kPrivacy,    // local_only with personal data
  kRule,       // a routing.rules entry (`rule` names it)
  kMedia,      // media the in-process SLM cannot read
  kTradeoff,   // the multi-model trade-off router
  kLearned,    // the learned text router
  kSlmScored,  // the SLM-scored router (set by the gateway's stage, not by a Policy)
  kRoute,      // a described route (routing.routes) the SLM picked (gateway stage; `rule` names the route)
};
const char* RuleKindName(RuleKind k);  // "default", "requested", ..., "slm-scored"

struct Decision {
  std::string model;                 // configured model name
  double score = 0;                  // 0 = clearly SLM work, 1 = clearly LLM work
  std::vector<std::string> reasons;  // e.g. "rule code-and-math: task=code"
  bool local_only = false;           // privacy: only local models may serve this request
  std::string rule;                  // the rule that decided ("" = default or direct)
  RuleKind kind = RuleKind::kDefault;
  // kDefault or kLearned: no explicit choice, so the gateway's SLM-scored and cascade stages may act.
  bool open() const { return kind == RuleKind::kDefault || kind == RuleKind::kLearned; }
  // For metrics: the rule's name, else the kind's.
  std::string label() const {
    return kind == RuleKind::kRule ? rule : kind == RuleKind::kRoute ? "route:" + rule : RuleKindName(kind);
  }

  std::string reasons_joined() const;  // "; "-separated, for headers and the ledger
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual Decision decide(const ChatRequest& req, const Features& f) const = 0;
};

}  // namespace tandem
