#include "agency/lm_agent.h"

#include <simdjson.h>

#include <future>
#include <map>

#include "agency/json_schema.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

constexpr char kFinal[] = "final_answer";

struct Message {
  std::string role, content, tool_call_id;
  std::vector<ModelCall> calls;  // assistant
  std::vector<std::string> call_ids;
};

std::string ToolsWithFinal(const ToolSet& tools) {
  std::string all = tools.OpenAiTools();  // "[...]"
  std::string final_tool;
  JsonWriter w(final_tool);
  w.begin_object().kv("type", "function").key("function").begin_object().kv("name", kFinal);
  w.kv("description", "Give the final answer to the task and stop.");
  w.key("parameters").raw(R"({"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]})");
  w.end_object().end_object();
  all.pop_back();  // ']'
  if (all.size() > 1) all += ",";
  return all + final_tool + "]";
}

std::string Request(const std::vector<Message>& messages, const std::string& tools) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("messages").begin_array();
  for (const auto& m : messages) {
    w.begin_object().kv("role", m.role);
    if (m.role == "assistant" && !m.calls.empty()) {
      if (m.content.empty()) w.key("content").null();
      else w.kv("content", m.content);
      w.key("tool_calls").begin_array();
      for (size_t i = 0; i < m.calls.size(); ++i) {
        w.begin_object().kv("id", m.call_ids[i]).kv("type", "function").key("function").begin_object();
        w.kv("name", m.calls[i].name).kv("arguments", m.calls[i].arguments).end_object().end_object();
      }
      w.end_array();
    } else {
      w.kv("content", m.content);
    }
    if (!m.tool_call_id.empty()) w.kv("tool_call_id", m.tool_call_id);
    w.end_object();
  }
  w.end_array().key("tools").raw(tools).end_object();
  return out;
}

std::string AnswerOf(const ModelCall& c) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view a;
  if (!parser.parse(c.arguments).get(doc) && !doc["answer"].get(a)) return std::string(a);
  return c.arguments;
}

}  // namespace

const char* AgentStatusName(AgentStatus s) {
  switch (s) {
    case AgentStatus::kDone:
      return "done";
    case AgentStatus::kMaxSteps:
      return "max_steps";
    case AgentStatus::kMaxCost:
      return "max_cost";
    case AgentStatus::kRepeated:
      return "repeated_call";
    case AgentStatus::kModelError:
      return "model_error";
  }
  return "?";
}

AgentResult RunAgent(const std::string& task, const ToolSet& tools, const ModelFn& model, const AgentOptions& opt) {
  AgentResult r;
  const std::string tool_json = ToolsWithFinal(tools);
  std::vector<Message> messages = {{"system", opt.system_prompt, "", {}, {}}, {"user", task, "", {}, {}}};
  std::map<std::string, int> seen;  // name + arguments -> times called
  int without_valid_call = 0;
  auto push = [&](AgentStep&& s) {
    r.steps.push_back(std::move(s));
    if (opt.on_step) opt.on_step(r.steps.back());
  };
  for (int step = 1;; ++step) {
    if (step > opt.max_steps) {
      r.status = AgentStatus::kMaxSteps;
      r.reason = "stopped after " + std::to_string(opt.max_steps) + " steps without a final answer";
      return r;
    }
    AgentStep s;
    s.index = step;
    s.tier = without_valid_call >= opt.escalate_after ? "llm" : "";
    if (!s.tier.empty()) s.note = "escalated: no valid call in " + std::to_string(without_valid_call) + " steps";
    const auto t0 = std::chrono::steady_clock::now();
    ModelTurn turn = model(Request(messages, tool_json), s.tier);
    s.model = turn.model;
    s.cost_usd = turn.cost_usd;
    r.cost_usd += turn.cost_usd;
    if (!turn.status.ok()) {
      s.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      push(std::move(s));
      r.status = AgentStatus::kModelError;
      r.reason = "the model failed: " + turn.status.message();
      return r;
    }
    bool malformed = false;
    s.calls = ResponseCalls(turn.body, &s.text, &malformed);
    bool valid = !malformed;
    // A valid call names a tool and passes its schema (the results tell the model what was wrong).
    for (const auto& c : s.calls) {
      if (c.name == kFinal) continue;
      const Tool* tool = tools.Find(c.name);
      if (!tool || !ValidateJson(tool->spec().parameters, c.arguments, 1).empty()) valid = false;
    }
    without_valid_call = valid && (!s.calls.empty() || !s.text.empty()) ? 0 : without_valid_call + 1;
    if (!valid && s.note.empty()) s.note = "no valid call";

    // A final answer: from final_answer, or a plain text answer without calls.
    const ModelCall* final_call = nullptr;
    for (const auto& c : s.calls)
      if (c.name == kFinal) final_call = &c;
    if (final_call || (s.calls.empty() && valid && !s.text.empty())) {
      const std::string answer = final_call ? AnswerOf(*final_call) : s.text;
      const std::string objection = opt.final_check ? opt.final_check(answer) : "";
      if (objection.empty()) {
        s.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        push(std::move(s));
        r.status = AgentStatus::kDone;
        r.answer = answer;
        r.reason = "final answer";
        return r;
      }
      if (!final_call) s.calls.push_back({kFinal, "{}"});  // give the objection a call to answer
      s.results.assign(s.calls.size(), ToolResult{});
      for (size_t i = 0; i < s.calls.size(); ++i)
        s.results[i] = s.calls[i].name == kFinal ? ToolResult{"the answer was not accepted: " + objection, true}
                                                 : ToolResult{"not run: a final answer was given in the same step", true};
    } else {
      // Repeated identical calls: the model is going round in circles.
      for (const auto& c : s.calls) {
        if (++seen[c.name + "\x1f" + c.arguments] > opt.max_repeats + 1) {
          s.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
          push(std::move(s));
          r.status = AgentStatus::kRepeated;
          r.reason = "the same call to " + c.name + " was repeated " + std::to_string(opt.max_repeats + 1) + " times";
          return r;
        }
      }
      // Run the calls concurrently; each is validated against its schema first.
      std::vector<std::future<ToolResult>> running;
      for (const auto& c : s.calls) {
        Tool* tool = tools.Find(c.name);
        if (!tool) {
          std::string names;
          for (const auto& t : tools.all()) names += (names.empty() ? "" : ", ") + t->spec().name;
          running.push_back(std::async(std::launch::deferred, [c, names] {
            return ToolResult{"no tool named '" + c.name + "'; the tools are: " + names + ", " + kFinal, true};
          }));
          continue;
        }
        running.push_back(std::async(std::launch::async, [tool, c, &opt] { return CallTool(*tool, c.arguments, opt.tool_timeout); }));
      }
      for (auto& f : running) s.results.push_back(f.get());
    }
    s.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    // The step joins the conversation: the assistant's calls, then one tool message per call.
    Message assistant{"assistant", s.text, "", s.calls, {}};
    for (size_t i = 0; i < s.calls.size(); ++i) assistant.call_ids.push_back("call_" + std::to_string(step) + "_" + std::to_string(i));
    if (s.calls.empty()) {  // nothing usable: say so, so the next step can do better
      messages.push_back({"assistant", s.text.empty() ? "(no valid tool call)" : s.text, "", {}, {}});
      messages.push_back({"user", "Call one of the tools with valid JSON arguments, or final_answer.", "", {}, {}});
    } else {
      messages.push_back(assistant);
      for (size_t i = 0; i < s.calls.size(); ++i)
        messages.push_back({"tool", (s.results[i].is_error ? "ERROR: " : "") + s.results[i].content,
                            assistant.call_ids[i], {}, {}});
    }
    push(std::move(s));
    if (opt.max_cost_usd > 0 && r.cost_usd >= opt.max_cost_usd) {
      r.status = AgentStatus::kMaxCost;
      char buf[96];
      std::snprintf(buf, sizeof buf, "stopped at $%.6f, over the $%.6f cap", r.cost_usd, opt.max_cost_usd);
      r.reason = buf;
      return r;
    }
  }
}

}  // namespace tandem::agency
