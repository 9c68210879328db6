// Features: the signals routing decides on, computed once per request with no I/O.
//
// ComputeFeatures looks at a parsed ChatRequest: estimated prompt tokens, user turns, tools offered,
// a task type (task_type.h), and the personal-data kinds present. Thread-safe
// (pure function over its inputs; the detector is const).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat_request.h"
#include "route/pii.h"
#include "route/task_type.h"

namespace tandem {

struct Features {
  int64_t prompt_tokens = 0;  // estimated
  int turns = 0;              // user turns
  int messages = 0;
  int tools = 0;
  std::string task;              // one of AllTaskTypes()
  bool media = false;            // an image, audio or file part: content no text scan reads
  std::vector<std::string> pii;  // kinds of personal data found (empty = none); "media" when media is present
                                 // and that kind is enabled (the privacy policy cannot see inside it)
  std::string header_tier;       // client's x-tandem-tier header ("", "slm" or "llm")
  double tradeoff = -1;          // client's x-tandem-tradeoff header: lambda for this request (-1 = config's)
  double max_cost_usd = -1;      // client's x-tandem-max-cost-usd header: a per-request budget (-1 = none)
};

Features ComputeFeatures(const ChatRequest& req, const PiiDetector& pii, std::string_view header_tier);

}  // namespace tandem
