#include "core/chat_request.h"

#include <simdjson.h>

#include "core/json_writer.h"

namespace tandem {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status Invalid(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }

const char* TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

// Appends every string under `v` (object keys included) to `out`, a line each, except under the keys that hold
// no text a person wrote: "role" and "type" (fixed vocabularies) and the binary payloads of media parts. Of a
// media part it keeps what is text: an image's URL unless it is a data: URI, a file's name.
// A tool call's arguments are JSON inside a string: their strings are collected decoded too, so that an escape
// such as \u0040 for '@' hides nothing from the scan (one level deep: arguments inside arguments mean nothing).
void CollectStrings(element v, std::string* out, int depth = 0, bool in_arguments = false) {
  if (depth > 64) return;  // simdjson has already bounded the depth; this only keeps the recursion honest
  if (v.is_string()) {
    out->append(v.get_string().value());
    out->push_back('\n');
  } else if (v.is_array()) {
    for (element e : v.get_array()) CollectStrings(e, out, depth + 1, in_arguments);
  } else if (v.is_object()) {
    for (auto [key, value] : v.get_object()) {
      if (key == "role" || key == "type" || key == "input_audio") continue;
      if (key == "image_url" || key == "file") {
        std::string_view s;
        const bool text = key == "file" ? !value["filename"].get(s)
                                        : !value.get(s) || !value["url"].get(s);  // a string, or {"url": ...}
        if (text && s.substr(0, 5) != "data:") out->append(s).push_back('\n');
        continue;
      }
      out->append(key);  // metadata keys are the client's own words too
      out->push_back('\n');
      CollectStrings(value, out, depth + 1, in_arguments);
      if (key == "arguments" && value.is_string() && !in_arguments) {
        thread_local simdjson::dom::parser inner;  // not the request's own parser, whose document is in use
        element args;
        const std::string_view text = value.get_string().value();
        if (!inner.parse(text.data(), text.size()).get(args)) CollectStrings(args, out, depth + 1, true);
      }
    }
  }
}

Status ParseContent(element content, const std::string& where, ChatMessage& m, std::string* other_text) {
  if (content.is_null()) return Status::Ok();
  if (content.is_string()) {
    m.text = std::string(content.get_string().value());
    return Status::Ok();
  }
  if (!content.is_array()) {
    return Invalid(where + ".content: expected a string or an array of content parts, got " +
                   TypeName(content.type()));
  }
  size_t i = 0;
  for (element part : content.get_array()) {
    std::string pw = where + ".content[" + std::to_string(i++) + "]";
    if (!part.is_object()) return Invalid(pw + ": expected an object");
    auto type = part["type"].get_string();
    if (type.error()) return Invalid(pw + ".type: required string");
    if (type.value() == "text") {
      auto text = part["text"].get_string();
      if (text.error()) return Invalid(pw + ".text: required string");
      if (!m.text.empty()) m.text.push_back('\n');
      m.text.append(text.value());
    } else {
      m.has_media = m.has_media || type.value() != "refusal";
      CollectStrings(part, other_text);  // a refusal's text, an image part's detail; never a media payload
    }
  }
  return Status::Ok();
}

Status ParseMessages(element messages, ChatRequest& req) {
  if (!messages.is_array()) return Invalid("messages: expected an array");
  size_t i = 0;
  for (element msg : messages.get_array()) {
    std::string where = "messages[" + std::to_string(i++) + "]";
    if (!msg.is_object()) return Invalid(where + ": expected an object");
    ChatMessage m;
    auto role = msg["role"].get_string();
    if (role.error()) return Invalid(where + ".role: required string");
    m.role = std::string(role.value());
    if (m.role != "system" && m.role != "developer" && m.role != "user" && m.role != "assistant" &&
        m.role != "tool" && m.role != "function") {
      return Invalid(where + ".role: '" + m.role +
                     "' is not one of system, developer, user, assistant, tool");
    }
    element content;
    bool has_content = !msg["content"].get(content);
    if (has_content) {
      Status s = ParseContent(content, where, m, &req.other_text);
      if (!s.ok()) return s;
    }
    element calls;
    if (!msg["tool_calls"].get(calls)) {
      if (m.role != "assistant")
        return Invalid(where + ".tool_calls: only assistant messages carry tool calls");
      if (!calls.is_array()) return Invalid(where + ".tool_calls: expected an array");
      m.tool_calls = static_cast<int>(calls.get_array().size());
    }
    if ((m.role == "user" || m.role == "system" || m.role == "developer" || m.role == "tool") &&
        (!has_content || content.is_null())) {
      return Invalid(where + ".content: required for role '" + m.role + "'");
    }
    if (m.role == "assistant" && (!has_content || content.is_null()) && m.tool_calls == 0) {
      return Invalid(where + ".content: an assistant message needs content or tool_calls");
    }
    if (m.role == "tool" && msg["tool_call_id"].get_string().error()) {
      return Invalid(where + ".tool_call_id: required string for role 'tool'");
    }
    for (auto [key, value] : msg.get_object())  // tool calls, function_call, name, ...: all but text and role
      if (key != "content" && key != "role") CollectStrings(value, &req.other_text);
    req.messages.push_back(std::move(m));
  }
  if (req.messages.empty()) return Invalid("messages: must contain at least one message");
  return Status::Ok();
}

Status CheckNumber(element v, const char* name, double lo, double hi) {
  if (v.is_null()) return Status::Ok();
  if (!v.is_number()) return Invalid(std::string(name) + ": expected a number");
  double d = v.get_double().value();
  if (d < lo || d > hi) {
    return Invalid(std::string(name) + ": " + std::to_string(d) + " is outside [" + std::to_string(lo) +
                   ", " + std::to_string(hi) + "]");
  }
  return Status::Ok();
}

}  // namespace

Result<ChatRequest> ParseChatRequest(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  ChatRequest req;
  req.body_bytes = body.size();
  simdjson::padded_string padded(body);
  element root;
  auto err = parser.parse(padded).get(root);
  if (err) return Invalid(std::string("malformed JSON body: ") + simdjson::error_message(err));
  if (!root.is_object()) return Invalid("request body: expected a JSON object");

  bool saw_model = false, saw_messages = false;
  for (auto [key, value] : root.get_object()) {
    if (key == "model") {
      if (!value.is_string()) return Invalid("model: expected a string");
      req.model = std::string(value.get_string().value());
      if (req.model.empty()) return Invalid("model: must not be empty");
      saw_model = true;
      continue;
    }
    if (key == "messages") {
      saw_messages = true;
      Status s = ParseMessages(value, req);
      if (!s.ok()) return s;
    } else if (key == "stream") {
      if (!value.is_bool() && !value.is_null()) return Invalid("stream: expected a boolean");
      req.stream = value.is_bool() && value.get_bool().value();
    } else if (key == "stream_options") {
      if (value.is_object()) {
        auto iu = value["include_usage"].get_bool();
        req.include_usage = !iu.error() && iu.value();
      } else if (!value.is_null()) {
        return Invalid("stream_options: expected an object");
      }
    } else if (key == "tools") {
      if (!value.is_array()) return Invalid("tools: expected an array");
      size_t i = 0;
      for (element t : value.get_array()) {
        std::string where = "tools[" + std::to_string(i++) + "]";
        if (!t.is_object()) return Invalid(where + ": expected an object");
        element fn;
        if (t["function"].get(fn) || !fn.is_object()) return Invalid(where + ".function: required object");
        if (fn["name"].get_string().error()) return Invalid(where + ".function.name: required string");
      }
      req.tools = static_cast<int>(i);
    } else if (key == "tool_choice") {
      req.tool_choice_none = value.is_string() && value.get_string().value() == "none";
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      if (!value.is_null()) {
        if (!value.is_int64() || value.get_int64().value() < 1) {
          return Invalid(std::string(key) + ": expected a positive integer");
        }
        req.max_tokens = value.get_int64().value();
      }
    } else if (key == "temperature") {
      Status s = CheckNumber(value, "temperature", 0, 2);
      if (!s.ok()) return s;
    } else if (key == "top_p") {
      Status s = CheckNumber(value, "top_p", 0, 1);
      if (!s.ok()) return s;
    } else if (key == "n") {
      if (!value.is_null() && (!value.is_int64() || value.get_int64().value() < 1)) {
        return Invalid("n: expected a positive integer");
      }
    } else if (key == "stop") {
      if (!value.is_null() && !value.is_string() && !value.is_array()) {
        return Invalid("stop: expected a string or an array of strings");
      }
    } else if (key == "user") {
      if (!value.is_string()) return Invalid("user: expected a string");
      req.user = std::string(value.get_string().value());
    } else if (key == "seed") {
      if (!value.is_null() && !value.is_int64()) return Invalid("seed: expected an integer");
    } else if (key == "response_format") {
      if (!value.is_object() || value["type"].get_string().error()) {
        return Invalid("response_format: expected an object with a string 'type'");
      }
    } else if (key == "metadata") {
      if (!value.is_object() && !value.is_null()) return Invalid("metadata: expected an object");
    }
    if (key != "messages") CollectStrings(value, &req.other_text);
    req.fields.emplace_back(std::string(key), simdjson::minify(value));
  }
  if (!saw_model) return Invalid("model: required field is missing");
  if (!saw_messages) return Invalid("messages: required field is missing");
  return req;
}

std::string_view ChatRequest::last_user_text() const {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->role == "user") return it->text;
  }
  return {};
}

int ChatRequest::user_turns() const {
  int n = 0;
  for (const auto& m : messages) n += m.role == "user";
  return n;
}

const std::string* ChatRequest::field(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

void ChatRequest::set_field(std::string_view key, std::string json) {
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it->first != key) continue;
    if (json.empty()) {
      fields.erase(it);
    } else {
      it->second = std::move(json);
    }
    return;
  }
  if (!json.empty()) fields.emplace_back(std::string(key), std::move(json));
}

std::string BuildOpenAiUpstreamBody(const ChatRequest& req, std::string_view upstream_model) {
  std::string out;
  out.reserve(req.body_bytes + 64);
  out.append("{\"model\":");
  AppendJsonString(out, upstream_model);
  for (const auto& [k, v] : req.fields) {
    if (req.stream && k == "stream_options") continue;
    out.push_back(',');
    AppendJsonString(out, k);
    out.push_back(':');
    out.append(v);
  }
  if (req.stream) out.append(",\"stream_options\":{\"include_usage\":true}");
  out.push_back('}');
  return out;
}

}  // namespace tandem
