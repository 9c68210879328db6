#include "agency/tool.h"

#include "agency/json_schema.h"
#include "core/json_writer.h"

namespace tandem::agency {

ToolResult CallTool(Tool& tool, std::string_view args_json, std::chrono::milliseconds timeout) {
  const std::string& name = tool.spec().name;
  std::vector<std::string> errors = ValidateJson(tool.spec().parameters, args_json.empty() ? "{}" : args_json);
  if (!errors.empty()) {
    std::string msg = "invalid arguments for " + name + ":";
    for (const auto& e : errors) msg += " " + e + ";";
    msg.pop_back();
    return {msg, true};
  }
  auto r = tool.Invoke(args_json.empty() ? "{}" : args_json, timeout);
  if (!r.ok()) return {name + " failed: " + r.status().message(), true};
  return std::move(r.value());
}

void ToolSet::Add(std::shared_ptr<Tool> tool) {
  for (auto& t : tools_) {
    if (t->spec().name == tool->spec().name) {
      t = std::move(tool);
      return;
    }
  }
  tools_.push_back(std::move(tool));
}

Tool* ToolSet::Find(std::string_view name) const {
  for (const auto& t : tools_)
    if (t->spec().name == name) return t.get();
  return nullptr;
}

std::string ToolSet::OpenAiTools() const {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  for (const auto& t : tools_) {
    const ToolSpec& s = t->spec();
    w.begin_object().kv("type", "function").key("function").begin_object();
    w.kv("name", s.name).kv("description", s.description).key("parameters").raw(s.parameters);
    w.end_object().end_object();
  }
  w.end_array();
  return out;
}

}  // namespace tandem::agency
