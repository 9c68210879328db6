#include "providers/anthropic_codec.h"

#include <simdjson.h>

#include "core/json_writer.h"

namespace tandem {
namespace {

using simdjson::dom::element;

Status Bad(const std::string& msg) { return Status(Code::kInvalidArgument, msg); }

std::string_view Str(element e, const char* key) {
  std::string_view s;
  if (e[key].get(s)) return {};
  return s;
}

// One Anthropic message under construction: role plus a list of content blocks (serialized JSON).
struct AMsg {
  std::string role;
  std::vector<std::string> blocks;
};

void AddBlock(std::vector<AMsg>& msgs, const std::string& role, std::string block) {
  if (msgs.empty() || msgs.back().role != role) msgs.push_back(AMsg{role, {}});
  msgs.back().blocks.push_back(std::move(block));
}

std::string TextBlock(std::string_view text) {
  std::string b;
  JsonWriter w(b);
  w.begin_object().kv("type", "text").kv("text", text).end_object();
  return b;
}

// Content (string or parts) of an OpenAI message as Anthropic blocks.
Status ContentBlocks(element content, std::vector<std::string>& out) {
  if (content.is_null()) return Status::Ok();
  if (content.is_string()) {
    std::string_view s = content.get_string().value();
    if (!s.empty()) out.push_back(TextBlock(s));
    return Status::Ok();
  }
  if (!content.is_array()) return Bad("content: expected a string or an array");
  for (element part : content.get_array()) {
    std::string_view type = Str(part, "type");
    if (type == "text") {
      out.push_back(TextBlock(Str(part, "text")));
    } else if (type == "image_url") {
      std::string_view url;
      if (part["image_url"]["url"].get(url)) return Bad("image_url.url: required string");
      std::string b;
      JsonWriter w(b);
      w.begin_object().kv("type", "image").key("source").begin_object();
      if (url.rfind("data:", 0) == 0) {
        size_t semi = url.find(';'), comma = url.find(',');
        if (semi == std::string_view::npos || comma == std::string_view::npos)
          return Bad("image_url: bad data URL");
        w.kv("type", "base64").kv("media_type", url.substr(5, semi - 5)).kv("data", url.substr(comma + 1));
      } else {
        w.kv("type", "url").kv("url", url);
      }
      w.end_object().end_object();
      out.push_back(std::move(b));
    }
  }
  return Status::Ok();
}

std::string Text(element content) {
  if (content.is_string()) return std::string(content.get_string().value());
  std::string out;
  if (content.is_array()) {
    for (element part : content.get_array()) {
      if (Str(part, "type") == "text") out.append(Str(part, "text"));
    }
  }
  return out;
}

const char* FinishReason(std::string_view stop_reason) {
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";
}

}  // namespace

Result<std::string> OpenAiToAnthropicRequest(std::string_view openai_body, std::string_view model,
                                             bool stream) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(openai_body.data(), openai_body.size()).get(root)) return Bad("malformed JSON");
  std::string system;
  std::vector<AMsg> msgs;
  simdjson::dom::array messages;
  if (root["messages"].get(messages)) return Bad("messages: required array");
  for (element m : messages) {
    std::string_view role = Str(m, "role");
    element content;
    bool has_content = !m["content"].get(content);
    if (role == "system" || role == "developer") {
      if (!system.empty()) system.append("\n\n");
      if (has_content) system.append(Text(content));
    } else if (role == "user" || role == "assistant") {
      std::vector<std::string> blocks;
      if (has_content) {
        Status s = ContentBlocks(content, blocks);
        if (!s.ok()) return s;
      }
      const std::string r(role);
      for (auto& b : blocks) AddBlock(msgs, r, std::move(b));
      if (role == "user") continue;
      simdjson::dom::array calls;
      if (!m["tool_calls"].get(calls)) {
        for (element c : calls) {
          std::string_view args = Str(c["function"], "arguments");
          simdjson::dom::parser ap;
          element input;
          std::string input_json = "{}";
          if (!args.empty() && !ap.parse(args.data(), args.size()).get(input) && input.is_object()) {
            input_json = simdjson::minify(input);
          }
          std::string b;
          JsonWriter w(b);
          w.begin_object()
              .kv("type", "tool_use")
              .kv("id", Str(c, "id"))
              .kv("name", Str(c["function"], "name"));
          w.key("input").raw(input_json).end_object();
          AddBlock(msgs, "assistant", std::move(b));
        }
      }
    } else if (role == "tool") {
      std::string b;
      JsonWriter w(b);
      w.begin_object().kv("type", "tool_result").kv("tool_use_id", Str(m, "tool_call_id"));
      w.kv("content", has_content ? Text(content) : std::string()).end_object();
      AddBlock(msgs, "user", std::move(b));
    }
  }
  if (msgs.empty()) return Bad("messages: Anthropic needs at least one user message");

  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("model", model);
  int64_t max_tokens = 4096;
  int64_t v;
  if (!root["max_completion_tokens"].get(v) || !root["max_tokens"].get(v)) max_tokens = v;
  w.kv("max_tokens", max_tokens);
  if (!system.empty()) w.kv("system", system);
  w.key("messages").begin_array();
  for (const auto& m : msgs) {
    w.begin_object().kv("role", m.role).key("content").begin_array();
    for (const auto& b : m.blocks) w.raw(b);
    w.end_array().end_object();
  }
  w.end_array();
  double d;
  if (!root["temperature"].get(d)) w.kv("temperature", std::min(d, 1.0));  // Anthropic's range is [0, 1]
  if (!root["top_p"].get(d)) w.kv("top_p", d);
  element stop;
  if (!root["stop"].get(stop) && !stop.is_null()) {
    w.key("stop_sequences").begin_array();
    if (stop.is_string()) {
      w.value(stop.get_string().value());
    } else if (stop.is_array()) {
      for (element s : stop.get_array()) {
        if (s.is_string()) w.value(s.get_string().value());
      }
    }
    w.end_array();
  }
  simdjson::dom::array tools;
  if (!root["tools"].get(tools) && tools.size() > 0) {
    w.key("tools").begin_array();
    for (element t : tools) {
      element fn;
      if (t["function"].get(fn)) continue;
      w.begin_object().kv("name", Str(fn, "name"));
      std::string_view desc = Str(fn, "description");
      if (!desc.empty()) w.kv("description", desc);
      element params;
      w.key("input_schema")
          .raw(!fn["parameters"].get(params) && params.is_object() ? simdjson::minify(params)
                                                                   : "{\"type\":\"object\"}");
      w.end_object();
    }
    w.end_array();
  }
  element choice;
  if (!root["tool_choice"].get(choice)) {
    if (choice.is_string()) {
      std::string_view c = choice.get_string().value();
      w.key("tool_choice")
          .raw(c == "required" ? "{\"type\":\"any\"}"
               : c == "none"   ? "{\"type\":\"none\"}"
                               : "{\"type\":\"auto\"}");
    } else if (choice.is_object()) {
      w.key("tool_choice")
          .begin_object()
          .kv("type", "tool")
          .kv("name", Str(choice["function"], "name"))
          .end_object();
    }
  }
  std::string_view user = Str(root, "user");
  if (!user.empty()) w.key("metadata").begin_object().kv("user_id", user).end_object();
  if (stream) w.kv("stream", true);
  w.end_object();
  return out;
}

Result<std::string> AnthropicToOpenAiResponse(std::string_view body, Usage& usage, int64_t created) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(body.data(), body.size()).get(root))
    return Status(Code::kUpstream, "Anthropic: malformed JSON");
  simdjson::dom::array content;
  if (root["content"].get(content)) return Status(Code::kUpstream, "Anthropic: answer has no content");
  std::string text;
  std::string calls;
  JsonWriter cw(calls);
  cw.begin_array();
  int ncalls = 0;
  for (element b : content) {
    std::string_view type = Str(b, "type");
    if (type == "text") {
      text.append(Str(b, "text"));
    } else if (type == "tool_use") {
      element input;
      std::string args = b["input"].get(input) ? "{}" : simdjson::minify(input);
      cw.begin_object().kv("id", Str(b, "id")).kv("type", "function").key("function").begin_object();
      cw.kv("name", Str(b, "name")).kv("arguments", args).end_object().end_object();
      ++ncalls;
    }
  }
  cw.end_array();
  int64_t in = 0, out_tokens = 0;
  if (root["usage"]["input_tokens"].get(in)) in = 0;
  if (root["usage"]["output_tokens"].get(out_tokens)) out_tokens = 0;
  usage.prompt_tokens = in;
  usage.completion_tokens = out_tokens;
  usage.estimated = false;

  std::string out;
  JsonWriter w(out);
  std::string id = "chatcmpl-" + std::string(Str(root, "id"));
  w.begin_object()
      .kv("id", id)
      .kv("object", "chat.completion")
      .kv("created", created)
      .kv("model", Str(root, "model"));
  w.key("choices")
      .begin_array()
      .begin_object()
      .kv("index", 0)
      .key("message")
      .begin_object()
      .kv("role", "assistant");
  if (text.empty() && ncalls > 0) {
    w.key("content").null();
  } else {
    w.kv("content", text);
  }
  if (ncalls > 0) w.key("tool_calls").raw(calls);
  w.end_object().kv("finish_reason", FinishReason(Str(root, "stop_reason"))).end_object().end_array();
  w.key("usage").begin_object().kv("prompt_tokens", in).kv("completion_tokens", out_tokens);
  w.kv("total_tokens", in + out_tokens).end_object();
  w.end_object();
  return out;
}

std::string AnthropicStreamTranslator::chunk(std::string_view delta_json,
                                             std::string_view finish_reason) const {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .kv("id", id_)
      .kv("object", "chat.completion.chunk")
      .kv("created", created_)
      .kv("model", model_);
  w.key("choices").begin_array().begin_object().kv("index", 0).key("delta").raw(delta_json);
  if (finish_reason.empty()) {
    w.key("finish_reason").null();
  } else {
    w.kv("finish_reason", finish_reason);
  }
  w.end_object().end_array().end_object();
  return out;
}

std::string AnthropicStreamTranslator::usage_chunk() const {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .kv("id", id_)
      .kv("object", "chat.completion.chunk")
      .kv("created", created_)
      .kv("model", model_);
  w.key("choices").begin_array().end_array();
  w.key("usage").begin_object().kv("prompt_tokens", usage_.prompt_tokens);
  w.kv("completion_tokens", usage_.completion_tokens);
  w.kv("total_tokens", usage_.prompt_tokens + usage_.completion_tokens).end_object().end_object();
  return out;
}

Status AnthropicStreamTranslator::feed(std::string_view event, std::string_view data,
                                       std::vector<std::string>& out) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(data.data(), data.size()).get(root)) {
    return Status(Code::kUpstream, "Anthropic stream: malformed event data");
  }
  std::string_view type = Str(root, "type");
  if (type.empty()) type = event;
  if (type == "message_start") {
    element msg = root["message"];
    id_ = "chatcmpl-" + std::string(Str(msg, "id"));
    model_ = std::string(Str(msg, "model"));
    int64_t in = 0;
    if (msg["usage"]["input_tokens"].get(in)) in = 0;
    usage_.prompt_tokens = in;
    out.push_back(chunk("{\"role\":\"assistant\",\"content\":\"\"}", ""));
  } else if (type == "content_block_start") {
    element block = root["content_block"];
    if (Str(block, "type") == "tool_use") {
      ++tool_index_;
      std::string d;
      JsonWriter w(d);
      w.begin_object().key("tool_calls").begin_array().begin_object().kv("index", tool_index_);
      w.kv("id", Str(block, "id")).kv("type", "function").key("function").begin_object();
      w.kv("name", Str(block, "name")).kv("arguments", "").end_object().end_object().end_array().end_object();
      out.push_back(chunk(d, ""));
    }
  } else if (type == "content_block_delta") {
    element delta = root["delta"];
    std::string_view dt = Str(delta, "type");
    std::string d;
    JsonWriter w(d);
    if (dt == "text_delta") {
      w.begin_object().kv("content", Str(delta, "text")).end_object();
      out.push_back(chunk(d, ""));
    } else if (dt == "input_json_delta") {
      w.begin_object().key("tool_calls").begin_array().begin_object().kv("index", std::max(tool_index_, 0));
      w.key("function").begin_object().kv("arguments", Str(delta, "partial_json")).end_object();
      w.end_object().end_array().end_object();
      out.push_back(chunk(d, ""));
    }
  } else if (type == "message_delta") {
    int64_t n = 0;
    if (!root["usage"]["output_tokens"].get(n)) usage_.completion_tokens = n;
    std::string_view stop = Str(root["delta"], "stop_reason");
    if (!stop.empty()) out.push_back(chunk("{}", FinishReason(stop)));
  } else if (type == "message_stop") {
    finished_ = true;
  } else if (type == "error") {
    std::string_view msg = Str(root["error"], "message");
    std::string_view etype = Str(root["error"], "type");
    Code code = etype == "overloaded_error"   ? Code::kUnavailable
                : etype == "rate_limit_error" ? Code::kRateLimited
                                              : Code::kUpstream;
    return Status(code, "Anthropic stream error (" + std::string(etype) + "): " + std::string(msg));
  }
  return Status::Ok();
}

}  // namespace tandem
