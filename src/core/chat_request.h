// ChatRequest: an OpenAI /v1/chat/completions request, parsed and validated.
//
// ParseChatRequest reads the JSON body once (simdjson), checks every field the gateway relies on and
// names the offending field in its error ("messages[2].role: ..."), and keeps what routing and the
// ledger need: the messages' text, tool presence, streaming flags, and every other string the request carries
// (so the privacy scan sees all that an upstream would receive). Every top-level field is also kept
// verbatim (minified) so an OpenAI-compatible upstream receives exactly what the client sent, with only
// `model` (and, for streams, `stream_options`) rewritten. A ChatRequest is an immutable value after
// parsing; share it freely between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace tandem {

struct ChatMessage {
  std::string role;        // system, developer, user, assistant, tool
  std::string text;        // all text content parts joined with "\n"
  int tool_calls = 0;      // assistant messages: number of tool calls
  bool has_media = false;  // an image, audio or file part (anything but text and refusals)
};

struct ChatRequest {
  std::string model;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::vector<ChatMessage> messages;
  // Every string (values and object keys) outside the messages' text content, one per line: tool-call
  // arguments (as sent, and the strings of the JSON they hold, decoded) and names, a message's name or
  // refusal, tool definitions, `user`, `metadata`, a response schema, and any other field an upstream receives
  // verbatim. Personal data there reaches a cloud model just the same, so the privacy scan reads it too. Left
  // out: "model", what "role" and "type" hold, and the payloads of image, audio and file parts (base64).
  std::string other_text;
  int tools = 0;  // number of tools offered
  bool tool_choice_none = false;
  std::optional<int64_t> max_tokens;  // max_completion_tokens or max_tokens
  std::string user;
  // Top-level fields as (key, minified JSON value), in the client's order, `model` excluded.
  std::vector<std::pair<std::string, std::string>> fields;
  size_t body_bytes = 0;

  // Text of the last user message ("" if none).
  std::string_view last_user_text() const;
  // Number of user turns.
  int user_turns() const;
  // The verbatim value of a top-level field, or nullptr.
  const std::string* field(std::string_view key) const;
  // Sets a top-level field to a minified JSON value (replacing it, or appending it); "" removes it.
  void set_field(std::string_view key, std::string json);
};

// Parses and validates `body`. Errors are kInvalidArgument with the offending field named.
Result<ChatRequest> ParseChatRequest(std::string_view body);

// Serializes `req` for an OpenAI-compatible upstream: the client's fields verbatim with `model` replaced
// by `upstream_model`; when streaming, stream_options.include_usage is forced on so usage can be metered.
std::string BuildOpenAiUpstreamBody(const ChatRequest& req, std::string_view upstream_model);

}  // namespace tandem
