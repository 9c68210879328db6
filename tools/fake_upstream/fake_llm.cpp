#include "fake_llm.h"

#include <simdjson.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>
#include <sstream>

#include "core/json_writer.h"

namespace tandem::fake {
namespace {

using simdjson::dom::element;

void Ignore(simdjson::error_code) {}  // optional fields: absent keeps the default

Headers Json() {
  Headers h;
  h.emplace_back("content-type", "application/json");
  return h;
}

Headers Sse() {
  Headers h;
  h.emplace_back("content-type", "text/event-stream");
  return h;
}

std::vector<std::string> NoTrailers() { return {}; }

asio::awaitable<bool> Sleep(int ms, CancelState& cancel) {
  if (ms <= 0) co_return !cancel.cancelled();
  auto exec = co_await asio::this_coro::executor;
  asio::steady_timer t(exec, std::chrono::milliseconds(ms));
  cancel.set_hook([&t] { t.cancel(); });
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  cancel.set_hook(nullptr);
  co_return !cancel.cancelled();
}

// What the fake will answer for a request.
struct Plan {
  std::string model;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;  // the request asked for token logprobs
  double logprob = 0;     // the value each token gets
  std::vector<std::string> words;  // the answer, word by word
  std::string answer_calls;        // scripted: a JSON array of {"name", "arguments"} ("" = not scripted)
  std::string tool_name;           // non-empty: call this tool
  std::string tool_args;           // JSON
  int64_t prompt_tokens = 0;
};

std::string ArgsFor(element fn_or_schema_holder, std::string_view schema_key, const std::string& text) {
  element schema;
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  if (!fn_or_schema_holder[schema_key].get(schema)) {
    simdjson::dom::array required;
    element props;
    bool has_props = !schema["properties"].get(props);
    if (!schema["required"].get(required)) {
      for (element r : required) {
        std::string_view name = r.get_string().value_unsafe();
        std::string_view type = "string";
        if (has_props) Ignore(props[name]["type"].get(type));
        w.key(name);
        if (type == "integer" || type == "number") {
          w.value(int64_t{1});
        } else if (type == "boolean") {
          w.value(true);
        } else if (type == "array") {
          w.begin_array().end_array();
        } else if (type == "object") {
          w.begin_object().end_object();
        } else {
          w.value(text);
        }
      }
    }
  }
  w.end_object();
  return out;
}

// A value that matches `schema`, read from the prompt the way a model would: an enum takes the first of its
// values the text mentions (else its first), a string an excerpt of the text, a number 1, an array one item.
void InstanceOf(element schema, const std::string& text, JsonWriter& w, int depth = 0) {
  simdjson::dom::array options;
  if (!schema["enum"].get(options) && options.size() > 0) {
    std::string lower = text;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    element pick = options.at(0).value_unsafe();
    for (element o : options) {
      std::string_view v;
      if (o.get(v)) continue;
      std::string lv(v);
      for (char& c : lv) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!lv.empty() && lower.find(lv) != std::string::npos) {
        pick = o;
        break;
      }
    }
    w.raw(simdjson::minify(pick));
    return;
  }
  std::string_view type = "string";
  Ignore(schema["type"].get(type));
  if (type == "object" && depth < 8) {
    w.begin_object();
    simdjson::dom::object props;
    if (!schema["properties"].get(props)) {
      for (auto field : props) {
        w.key(field.key);
        InstanceOf(field.value, text, w, depth + 1);
      }
    }
    w.end_object();
  } else if (type == "array" && depth < 8) {
    w.begin_array();
    element items;
    if (!schema["items"].get(items)) InstanceOf(items, text, w, depth + 1);
    w.end_array();
  } else if (type == "integer" || type == "number") {
    w.value(int64_t{1});
  } else if (type == "boolean") {
    w.value(true);
  } else if (type == "null") {
    w.null();
  } else {
    w.value(text.substr(0, 60));
  }
}

// Reads an OpenAI or Anthropic request into a plan. `anthropic` selects the dialect.
Result<Plan> MakePlan(const std::string& body, const Settings& s, bool anthropic) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(body).get(root) || !root.is_object()) {
    return Status(
        Code::kInvalidArgument,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly.)");
  }
  Plan p;
  std::string_view model;
  if (root["model"].get(model)) return Status(Code::kInvalidArgument, "you must provide a model parameter");
  p.model = std::string(model);
  simdjson::dom::array messages;
  if (root["messages"].get(messages))
    return Status(Code::kInvalidArgument, "'messages' is a required property");
  bool b = false;
  p.stream = !root["stream"].get(b) && b;
  p.include_usage = !root["stream_options"]["include_usage"].get(b) && b;
  p.logprobs = !root["logprobs"].get(b) && b;
  p.logprob = s.logprob;
  std::string last_text, last_role;
  for (element m : messages) {
    std::string_view role;
    Ignore(m["role"].get(role));
    last_role = std::string(role);
    element content;
    std::string text;
    if (!m["content"].get(content)) {
      if (content.is_string()) {
        text = std::string(content.get_string().value_unsafe());
      } else if (content.is_array()) {
        for (element part : content.get_array()) {
          std::string_view t;
          if (!part["text"].get(t)) text.append(t);
          std::string_view type;
          if (!part["type"].get(type) && type == "tool_result") {
            last_role = "tool";
            element c;
            if (!part["content"].get(c) && c.is_string()) text.append(c.get_string().value_unsafe());
          }
        }
      }
    }
    p.prompt_tokens += static_cast<int64_t>(text.size() / 4 + 4);
    if (role == "user" || role == "tool") last_text = text;
  }
  if (last_role == "tool") last_text = "tool said " + last_text;
  if (s.answers && !anthropic) {
    // Keyed by the question and the names of the tools offered (one question may come with different tools).
    std::string key = last_text + "\x1f";
    simdjson::dom::array offered;
    if (!root["tools"].get(offered)) {
      for (element t : offered) {
        std::string_view name;
        if (!t["function"]["name"].get(name)) key.append(name).push_back(',');
      }
    }
    auto it = s.answers->find(key);
    if (it != s.answers->end()) {
      if (it->second == "[]") p.words = {s.name + " says:", " no", " tool", " applies"};
      else p.answer_calls = it->second;
      return p;
    }
  }
  element schema;
  if (!anthropic && !root["response_format"]["json_schema"]["schema"].get(schema)) {
    // Structured output: the answer is JSON that matches the schema, a few characters per token.
    std::string json;
    JsonWriter w(json);
    InstanceOf(schema, last_text, w);
    for (size_t i = 0; i < json.size(); i += 4) p.words.push_back(json.substr(i, 4));
    return p;
  }
  simdjson::dom::array tools;
  std::string_view choice;
  bool choice_none = !root["tool_choice"].get(choice) && choice == "none";
  if (!choice_none && last_role == "user" && !root["tools"].get(tools) && tools.size() > 0) {
    element first = tools.at(0).value_unsafe();
    std::string_view name;
    if (anthropic) {
      Ignore(first["name"].get(name));
      p.tool_args = ArgsFor(first, "input_schema", last_text);
    } else {
      Ignore(first["function"]["name"].get(name));
      p.tool_args = ArgsFor(first["function"].value_unsafe(), "parameters", last_text);
    }
    p.tool_name = std::string(name);
    return p;
  }
  for (const auto& r : s.replies) {
    if (last_text.find(r.contains) == std::string::npos) continue;
    if (r.has_logprob) p.logprob = r.logprob;
    if (r.reply.empty()) break;
    std::istringstream words(r.reply);
    std::string word;
    while (words >> word) p.words.push_back(p.words.empty() ? word : " " + word);
    return p;
  }
  std::istringstream in(last_text);
  p.words.push_back(s.name + " says:");
  std::string w;
  while (static_cast<int>(p.words.size()) < s.words && in >> w) p.words.push_back(w);
  while (static_cast<int>(p.words.size()) < s.words) p.words.push_back("lorem");
  for (size_t i = 1; i < p.words.size(); ++i) p.words[i] = " " + p.words[i];
  return p;
}

std::string OpenAiError(const std::string& message, const char* type, const char* code) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("error").begin_object().kv("message", message).kv("type", type).key("param").null();
  w.kv("code", code).end_object().end_object();
  return out;
}

std::string AnthropicError(const std::string& message, const char* type) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("type", "error").key("error").begin_object().kv("type", type).kv("message", message);
  w.end_object().end_object();
  return out;
}

const char* AnthropicErrorType(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

// OpenAI's logprobs object for these answer tokens (one per word).
void Logprobs(JsonWriter& w, const Plan& p, const std::vector<std::string>& tokens) {
  if (!p.logprobs) {
    w.key("logprobs").null();
    return;
  }
  w.key("logprobs").begin_object().key("content").begin_array();
  for (const auto& t : tokens) {
    w.begin_object().kv("token", t).kv("logprob", p.logprob).key("bytes").null();
    w.key("top_logprobs").begin_array().end_array().end_object();
  }
  w.end_array().key("refusal").null().end_object();
}

std::string Chunk(const Plan& p, int64_t created, const std::string& delta, const char* finish,
                  const std::string* token = nullptr) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("id", "chatcmpl-fake").kv("object", "chat.completion.chunk").kv("created", created);
  w.kv("model", p.model).key("choices").begin_array().begin_object().kv("index", 0).key("delta").raw(delta);
  if (token) {
    Logprobs(w, p, {*token});
  } else {
    w.key("logprobs").null();
  }
  if (finish) {
    w.kv("finish_reason", finish);
  } else {
    w.key("finish_reason").null();
  }
  w.end_object().end_array().end_object();
  return out;
}

int64_t CompletionTokens(const Plan& p) {
  return p.tool_name.empty() ? static_cast<int64_t>(p.words.size())
                             : static_cast<int64_t>(p.tool_args.size() / 4 + 3);
}

std::string Text(const Plan& p) {
  std::string t;
  for (const auto& w : p.words) t += w;
  return t;
}

// The final usage-only chunk of a stream (stream_options.include_usage).
std::string UsageChunk(const Plan& p, int64_t created, int64_t completion) {
  std::string u;
  JsonWriter w(u);
  w.begin_object().kv("id", "chatcmpl-fake").kv("object", "chat.completion.chunk").kv("created", created);
  w.kv("model", p.model).key("choices").begin_array().end_array().key("usage").begin_object();
  w.kv("prompt_tokens", p.prompt_tokens).kv("completion_tokens", completion);
  w.kv("total_tokens", p.prompt_tokens + completion).end_object().end_object();
  return u;
}

// A scripted answer (--answers): the listed tool calls, streamed in one delta or in one message.
asio::awaitable<void> ScriptedCalls(Responder& out, const Plan& p, int64_t created) {
  simdjson::dom::parser parser;
  element calls;
  if (parser.parse(p.answer_calls).get(calls) || !calls.is_array()) {
    co_await out.send(500, Json(), OpenAiError("bad scripted answer", "server_error", "fake"));
    co_return;
  }
  auto write_calls = [&](JsonWriter& w, bool streamed) {
    w.key("tool_calls").begin_array();
    int64_t i = 0;
    simdjson::dom::array list = calls.get_array().value_unsafe();
    for (element c : list) {
      std::string_view name;
      element args;
      Ignore(c["name"].get(name));
      std::string arguments = c["arguments"].get(args) ? "{}" : args.is_string() ? std::string(args.get_string().value_unsafe()) : simdjson::minify(args);
      w.begin_object();
      if (streamed) w.kv("index", i);
      w.kv("id", "call_fake_" + std::to_string(i)).kv("type", "function").key("function").begin_object();
      w.kv("name", name).kv("arguments", arguments).end_object().end_object();
      ++i;
    }
    w.end_array();
  };
  const int64_t completion = static_cast<int64_t>(p.answer_calls.size() / 4 + 3);
  if (!p.stream) {
    std::string body;
    JsonWriter w(body);
    w.begin_object().kv("id", "chatcmpl-fake").kv("object", "chat.completion").kv("created", created);
    w.kv("model", p.model).key("choices").begin_array().begin_object().kv("index", 0).key("message").begin_object();
    w.kv("role", "assistant").key("content").null();
    write_calls(w, false);
    w.end_object().key("logprobs").null().kv("finish_reason", "tool_calls").end_object().end_array();
    w.key("usage").begin_object().kv("prompt_tokens", p.prompt_tokens).kv("completion_tokens", completion);
    w.kv("total_tokens", p.prompt_tokens + completion).end_object().end_object();
    co_await out.send(200, Json(), std::move(body));
    co_return;
  }
  if (!(co_await out.start_stream(200, Sse(), NoTrailers())).ok()) co_return;
  std::string d;
  JsonWriter dw(d);
  dw.begin_object().kv("role", "assistant").key("content").null();
  write_calls(dw, true);
  dw.end_object();
  for (const std::string& c : {Chunk(p, created, d, nullptr), Chunk(p, created, "{}", "tool_calls")}) {
    if (!(co_await out.write("data: " + c + "\n\n")).ok()) co_return;
  }
  if (p.include_usage) {
    const std::string u = UsageChunk(p, created, completion);
    if (!(co_await out.write("data: " + u + "\n\n")).ok()) co_return;
  }
  if (!(co_await out.write("data: [DONE]\n\n")).ok()) co_return;
  co_await out.finish(Headers());
}

// The part both dialects share: the configured latency, then a scripted hang or HTTP error, if any.
// Returns true when the request has been dealt with (or the client left).
asio::awaitable<bool> Scripted(Responder& out, const Settings& s, const Step& step, bool anthropic) {
  if (!co_await Sleep(s.latency_ms, out.cancel())) co_return true;
  if (step.hang) {
    co_await Sleep(3600 * 1000, out.cancel());
    co_return true;
  }
  if (!step.status) co_return false;
  Headers h = Json();
  if (step.status == 429) h.emplace_back("retry-after", "0");
  std::string body;
  if (anthropic) {
    body = AnthropicError("scripted error", AnthropicErrorType(step.status));
  } else {
    const char* type = step.status == 429   ? "requests"
                       : step.status >= 500 ? "server_error"
                                            : "invalid_request_error";
    const char* code = step.status == 429 ? "rate_limit_exceeded" : "fake_error";
    body = OpenAiError("scripted error " + std::to_string(step.status), type, code);
  }
  co_await out.send(step.status, h, std::move(body));
  co_return true;
}

}  // namespace

void FakeLlm::record(const HttpRequestIn& in) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  bodies_.push_back(in.body.size() > 65536 ? in.body.substr(0, 65536) : in.body);
  if (bodies_.size() > 200) bodies_.pop_front();
}

asio::awaitable<void> FakeLlm::handle(const HttpRequestIn& in, Responder& out) {
  std::string path = in.path();
  if (path == "/_control") {
    simdjson::dom::parser parser;
    element root;
    if (parser.parse(in.body).get(root) || !root.is_object()) {
      co_await out.send(400, Json(), OpenAiError("bad control JSON", "invalid_request_error", "bad_json"));
      co_return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      int64_t v;
      if (!root["latency_ms"].get(v)) settings_.latency_ms = static_cast<int>(v);
      if (!root["chunk_delay_ms"].get(v)) settings_.chunk_delay_ms = static_cast<int>(v);
      if (!root["words"].get(v)) settings_.words = static_cast<int>(v);
      double lp;
      if (!root["logprob"].get(lp)) settings_.logprob = lp;
      simdjson::dom::array replies;
      if (!root["replies"].get(replies)) {
        settings_.replies.clear();
        for (element e : replies) {
          Settings::Reply r;
          std::string_view sv;
          if (!e["contains"].get(sv)) r.contains = std::string(sv);
          if (!e["reply"].get(sv)) r.reply = std::string(sv);
          r.has_logprob = !e["logprob"].get(r.logprob);
          settings_.replies.push_back(std::move(r));
        }
      }
      simdjson::dom::array script;
      if (!root["script"].get(script)) {
        for (element e : script) {
          Step st;
          if (!e["status"].get(v)) st.status = static_cast<int>(v);
          if (!e["disconnect_after"].get(v)) st.disconnect_after = static_cast<int>(v);
          bool hang = false;
          st.hang = !e["hang"].get(hang) && hang;
          script_.push_back(st);
        }
      }
    }
    co_await out.send(200, Json(), "{\"ok\":true}");
    co_return;
  }
  if (path == "/_stats") {
    std::string body;
    JsonWriter w(body);
    {
      std::lock_guard<std::mutex> lock(mu_);
      w.begin_object().kv("requests", requests_).key("bodies").begin_array();
      for (const auto& b : bodies_) w.value(b);
      w.end_array().kv("script_left", static_cast<int64_t>(script_.size())).end_object();
    }
    co_await out.send(200, Json(), std::move(body));
    co_return;
  }
  if (path == "/_reset") {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_ = 0;
      bodies_.clear();
      script_.clear();
    }
    co_await out.send(200, Json(), "{\"ok\":true}");
    co_return;
  }
  if (path == "/v1/models" && in.method == "GET") {
    std::string body;
    JsonWriter w(body);
    w.begin_object().kv("object", "list").key("data").begin_array().begin_object().kv("id", settings_.name);
    w.kv("object", "model").kv("owned_by", "fake").end_object().end_array().end_object();
    co_await out.send(200, Json(), std::move(body));
    co_return;
  }
  bool is_openai = path == "/v1/chat/completions" && in.method == "POST";
  bool is_anthropic = path == "/v1/messages" && in.method == "POST";
  if (!is_openai && !is_anthropic) {
    co_await out.send(404, Json(),
                      OpenAiError("Unknown request URL: " + in.method + " " + path, "invalid_request_error",
                                  "unknown_url"));
    co_return;
  }
  record(in);
  Settings s;
  Step step;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = settings_;
    if (!script_.empty()) {
      step = script_.front();
      script_.pop_front();
    }
  }
  if (is_openai) {
    co_await openai(in, out, s, step);
  } else {
    co_await anthropic(in, out, s, step);
  }
}

asio::awaitable<void> FakeLlm::openai(const HttpRequestIn& in, Responder& out, Settings s, Step step) {
  if (!s.require_key.empty() && in.header("authorization") != "Bearer " + s.require_key) {
    co_await out.send(401, Json(),
                      OpenAiError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"));
    co_return;
  }
  if (co_await Scripted(out, s, step, /*anthropic=*/false)) co_return;
  auto plan = MakePlan(in.body, s, false);
  if (!plan.ok()) {
    co_await out.send(400, Json(),
                      OpenAiError(plan.status().message(), "invalid_request_error", "bad_request"));
    co_return;
  }
  const Plan& p = plan.value();
  int64_t created = static_cast<int64_t>(std::time(nullptr));
  int64_t completion = CompletionTokens(p);
  if (!p.answer_calls.empty()) {
    co_await ScriptedCalls(out, p, created);
    co_return;
  }
  if (!p.stream) {
    if (step.disconnect_after >= 0) {
      out.abort();
      co_return;
    }
    std::string body;
    JsonWriter w(body);
    w.begin_object().kv("id", "chatcmpl-fake").kv("object", "chat.completion").kv("created", created);
    w.kv("model", p.model)
        .key("choices")
        .begin_array()
        .begin_object()
        .kv("index", 0)
        .key("message")
        .begin_object();
    w.kv("role", "assistant");
    if (p.tool_name.empty()) {
      w.kv("content", Text(p));
    } else {
      w.key("content").null().key("tool_calls").begin_array().begin_object().kv("id", "call_fake_1");
      w.kv("type", "function")
          .key("function")
          .begin_object()
          .kv("name", p.tool_name)
          .kv("arguments", p.tool_args);
      w.end_object().end_object().end_array();
    }
    w.end_object();
    if (p.tool_name.empty()) {
      Logprobs(w, p, p.words);
    } else {
      w.key("logprobs").null();
    }
    w.kv("finish_reason", p.tool_name.empty() ? "stop" : "tool_calls");
    w.end_object().end_array().key("usage").begin_object().kv("prompt_tokens", p.prompt_tokens);
    w.kv("completion_tokens", completion).kv("total_tokens", p.prompt_tokens + completion).end_object();
    w.end_object();
    co_await out.send(200, Json(), std::move(body));
    co_return;
  }
  if (!(co_await out.start_stream(200, Sse(), NoTrailers())).ok()) co_return;
  std::vector<std::string> chunks;
  chunks.push_back(Chunk(p, created, "{\"role\":\"assistant\",\"content\":\"\"}", nullptr));
  if (p.tool_name.empty()) {
    for (const auto& word : p.words) {
      std::string d;
      JsonWriter(d).begin_object().kv("content", word).end_object();
      chunks.push_back(Chunk(p, created, d, nullptr, &word));
    }
    chunks.push_back(Chunk(p, created, "{}", "stop"));
  } else {
    std::string d;
    JsonWriter w(d);
    w.begin_object().key("tool_calls").begin_array().begin_object().kv("index", 0).kv("id", "call_fake_1");
    w.kv("type", "function").key("function").begin_object().kv("name", p.tool_name).kv("arguments", "");
    w.end_object().end_object().end_array().end_object();
    chunks.push_back(Chunk(p, created, d, nullptr));
    size_t half = p.tool_args.size() / 2;
    for (const std::string& piece : {p.tool_args.substr(0, half), p.tool_args.substr(half)}) {
      std::string a;
      JsonWriter aw(a);
      aw.begin_object()
          .key("tool_calls")
          .begin_array()
          .begin_object()
          .kv("index", 0)
          .key("function")
          .begin_object();
      aw.kv("arguments", piece).end_object().end_object().end_array().end_object();
      chunks.push_back(Chunk(p, created, a, nullptr));
    }
    chunks.push_back(Chunk(p, created, "{}", "tool_calls"));
  }
  if (p.include_usage) {
    const std::string u = UsageChunk(p, created, completion);
    chunks.push_back(u);
  }
  int sent = 0;
  for (const auto& c : chunks) {
    if (step.disconnect_after >= 0 && sent >= step.disconnect_after) {
      out.abort();
      co_return;
    }
    if (sent > 0 && !co_await Sleep(s.chunk_delay_ms, out.cancel())) co_return;
    if (!(co_await out.write("data: " + c + "\n\n")).ok()) co_return;
    ++sent;
  }
  if (!(co_await out.write("data: [DONE]\n\n")).ok()) co_return;
  co_await out.finish(Headers());
}

asio::awaitable<void> FakeLlm::anthropic(const HttpRequestIn& in, Responder& out, Settings s, Step step) {
  if (in.header("anthropic-version").empty()) {
    co_await out.send(400, Json(),
                      AnthropicError("anthropic-version: header is required", "invalid_request_error"));
    co_return;
  }
  if (!s.require_key.empty() && in.header("x-api-key") != s.require_key) {
    co_await out.send(401, Json(), AnthropicError("invalid x-api-key", "authentication_error"));
    co_return;
  }
  if (co_await Scripted(out, s, step, /*anthropic=*/true)) co_return;
  auto plan = MakePlan(in.body, s, true);
  if (!plan.ok()) {
    co_await out.send(400, Json(), AnthropicError(plan.status().message(), "invalid_request_error"));
    co_return;
  }
  const Plan& p = plan.value();
  int64_t completion = CompletionTokens(p);
  const char* stop = p.tool_name.empty() ? "end_turn" : "tool_use";
  if (!p.stream) {
    std::string body;
    JsonWriter w(body);
    w.begin_object().kv("id", "msg_fake").kv("type", "message").kv("role", "assistant").kv("model", p.model);
    w.key("content").begin_array();
    if (p.tool_name.empty()) {
      w.begin_object().kv("type", "text").kv("text", Text(p)).end_object();
    } else {
      w.begin_object().kv("type", "tool_use").kv("id", "toolu_fake_1").kv("name", p.tool_name);
      w.key("input").raw(p.tool_args).end_object();
    }
    w.end_array().kv("stop_reason", stop).key("stop_sequence").null().key("usage").begin_object();
    w.kv("input_tokens", p.prompt_tokens).kv("output_tokens", completion).end_object().end_object();
    co_await out.send(200, Json(), std::move(body));
    co_return;
  }
  if (!(co_await out.start_stream(200, Sse(), NoTrailers())).ok()) co_return;
  std::vector<std::pair<std::string, std::string>> events;
  {
    std::string d;
    JsonWriter w(d);
    w.begin_object().kv("type", "message_start").key("message").begin_object().kv("id", "msg_fake");
    w.kv("type", "message")
        .kv("role", "assistant")
        .kv("model", p.model)
        .key("content")
        .begin_array()
        .end_array();
    w.key("stop_reason").null().key("usage").begin_object().kv("input_tokens", p.prompt_tokens);
    w.kv("output_tokens", int64_t{1}).end_object().end_object().end_object();
    events.emplace_back("message_start", d);
  }
  if (p.tool_name.empty()) {
    events.emplace_back(
        "content_block_start",
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    for (const auto& word : p.words) {
      std::string d;
      JsonWriter w(d);
      w.begin_object().kv("type", "content_block_delta").kv("index", 0).key("delta").begin_object();
      w.kv("type", "text_delta").kv("text", word).end_object().end_object();
      events.emplace_back("content_block_delta", d);
    }
  } else {
    std::string d;
    JsonWriter w(d);
    w.begin_object().kv("type", "content_block_start").kv("index", 0).key("content_block").begin_object();
    w.kv("type", "tool_use").kv("id", "toolu_fake_1").kv("name", p.tool_name).key("input").begin_object();
    w.end_object().end_object().end_object();
    events.emplace_back("content_block_start", d);
    size_t half = p.tool_args.size() / 2;
    for (const std::string& piece : {p.tool_args.substr(0, half), p.tool_args.substr(half)}) {
      std::string a;
      JsonWriter aw(a);
      aw.begin_object().kv("type", "content_block_delta").kv("index", 0).key("delta").begin_object();
      aw.kv("type", "input_json_delta").kv("partial_json", piece).end_object().end_object();
      events.emplace_back("content_block_delta", a);
    }
  }
  events.emplace_back("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
  {
    std::string d;
    JsonWriter w(d);
    w.begin_object().kv("type", "message_delta").key("delta").begin_object().kv("stop_reason", stop);
    w.key("stop_sequence").null().end_object().key("usage").begin_object().kv("output_tokens", completion);
    w.end_object().end_object();
    events.emplace_back("message_delta", d);
  }
  events.emplace_back("message_stop", "{\"type\":\"message_stop\"}");
  int sent = 0;
  for (const auto& [name, data] : events) {
    if (step.disconnect_after >= 0 && sent >= step.disconnect_after) {
      out.abort();
      co_return;
    }
    if (sent > 0 && !co_await Sleep(s.chunk_delay_ms, out.cancel())) co_return;
    if (!(co_await out.write("event: " + name + "\ndata: " + data + "\n\n")).ok()) co_return;
    ++sent;
  }
  co_await out.finish(Headers());
}

}  // namespace tandem::fake
