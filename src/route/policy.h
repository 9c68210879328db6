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

struct Decision {
  std::string model;                 // configured model name
  double score = 0;                  // 0 = clearly SLM work, 1 = clearly LLM work
  std::vector<std::string> reasons;  // e.g. "rule code-and-math: task=code"
  bool local_only = false;           // privacy: only local models may serve this request
  std::string rule;                  // the rule that decided ("" = default or direct)

  std::string reasons_joined() const;  // "; "-separated, for headers and the ledger
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual Decision decide(const ChatRequest& req, const Features& f) const = 0;
};

}  // namespace tandem
