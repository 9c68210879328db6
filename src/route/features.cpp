#include "route/features.h"

#include <algorithm>

#include "core/model_info.h"

namespace tandem {

Features ComputeFeatures(const ChatRequest& req, const PiiDetector& pii, std::string_view header_tier) {
  Features f;
  size_t bytes = 0;
  for (const auto& m : req.messages) bytes += m.text.size() + 4;  // ~4 tokens of framing per message
  f.prompt_tokens = EstimateTokens(bytes);
  f.turns = req.user_turns();
  f.messages = static_cast<int>(req.messages.size());
  f.tools = req.tool_choice_none ? 0 : req.tools;
  f.task = ClassifyTask(req.last_user_text());
  // Message by message (no concatenated copy), then every other string the request carries (tool-call
  // arguments, `user`, tool definitions...: an upstream receives them too); a kind found anywhere counts once.
  auto scan = [&](std::string_view text) {
    for (auto& kind : pii.kinds_in(text)) {
      if (std::find(f.pii.begin(), f.pii.end(), kind) == f.pii.end()) f.pii.push_back(std::move(kind));
    }
  };
  for (const auto& m : req.messages) {
    scan(m.text);
    f.media = f.media || m.has_media;
  }
  if (!req.other_text.empty()) scan(req.other_text);
  if (f.media && pii.counts_media()) f.pii.emplace_back("media");
  f.header_tier = std::string(header_tier);
  return f;
}

}  // namespace tandem
