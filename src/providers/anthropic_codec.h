// Anthropic Messages API <-> OpenAI chat completions, both ways.
//
// Pure translation, no I/O, so it can be tested byte for byte:
//   - OpenAiToAnthropicRequest: system/developer messages become `system`; tool results become user
//     tool_result blocks; assistant tool_calls become tool_use blocks; tools, tool_choice, stop, sampling
//     parameters and max_tokens (required by Anthropic; default 4096) are mapped; consecutive messages of
//     one role are merged, as Anthropic requires alternation.
//   - AnthropicToOpenAiResponse: a Messages answer becomes a chat.completion (text, tool_calls,
//     finish_reason, usage).
//   - AnthropicStreamTranslator: Messages streaming events become chat.completion.chunk objects,
//     tool_use input deltas included.
// Thread-safety: the functions are reentrant; a translator object belongs to one stream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/model_info.h"
#include "core/status.h"

namespace tandem {

Result<std::string> OpenAiToAnthropicRequest(std::string_view openai_body, std::string_view model,
                                             bool stream);
Result<std::string> AnthropicToOpenAiResponse(std::string_view anthropic_body, Usage& usage, int64_t created);

class AnthropicStreamTranslator {
 public:
  explicit AnthropicStreamTranslator(int64_t created) : created_(created) {}
  // Consumes one SSE event; appends the OpenAI chunks it yields to `out`.
  Status feed(std::string_view event, std::string_view data, std::vector<std::string>& out);
  bool finished() const { return finished_; }
  const Usage& usage() const { return usage_; }
  // The usage-only chunk OpenAI sends last when stream_options.include_usage is set.
  std::string usage_chunk() const;

 private:
  std::string chunk(std::string_view delta_json, std::string_view finish_reason) const;
  int64_t created_;
  std::string id_ = "chatcmpl-anthropic";
  std::string model_;
  Usage usage_;
  int tool_index_ = -1;
  bool finished_ = false;
};

}  // namespace tandem
