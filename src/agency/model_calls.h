// ModelCall and reading the calls out of a model's answer, for the agent loop and the function-calling eval.
//
// ResponseCalls reads an OpenAI chat.completion body: its native tool_calls, or else calls the model wrote as
// text in its content (ParseTextCalls: a JSON object {"name", "arguments"} or {"tool_calls": [...]}, a list of
// them, possibly in a ```json fence, or BFCL's Python-like [func(a=1, b="x")]). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::agency {

struct ModelCall {
  std::string name;       // as the model wrote it
  std::string arguments;  // a JSON object (as text)
};

// *ok is false when the text holds no call that parses.
std::vector<ModelCall> ParseTextCalls(std::string_view text, bool* ok);

// The calls in a response body. *text gets the content that is not a call ("" when the content was calls);
// *malformed is set when the body is not a chat completion or a call was attempted that does not parse
// (a missing name or arguments, or arguments that are not a JSON object) — such calls are still returned.
std::vector<ModelCall> ResponseCalls(std::string_view body, std::string* text, bool* malformed);

}  // namespace tandem::agency
