// Tool: something an agent or a workflow step can call — a name, a description, a JSON Schema for its arguments,
// and Invoke(). ToolSet holds the tools of a run and renders them in OpenAI's `tools` format.
//
// Contract: arguments are validated against the schema before Invoke() (CallTool does it), so a tool sees only
// well-formed input; a validation error is returned to the model as an error result, never passed to the tool.
// Failures the model should read and react to (no such file, HTTP 404, an SQL error) are results with
// is_error = true; a Status error is kept for faults of Tandem itself. Invoke() blocks and must honour its
// timeout. Tools are shared by every run that lists them: implementations must be thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tandem::agency {

struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters = R"({"type":"object","properties":{}})";  // JSON Schema of the arguments object
};

struct ToolResult {
  std::string content;  // text (often JSON) the model reads
  bool is_error = false;
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  virtual Result<ToolResult> Invoke(std::string_view args_json, std::chrono::milliseconds timeout) = 0;
};

// Validates `args_json` against the tool's schema, then invokes it; every failure becomes an error result that
// names the tool and what was wrong, so the caller can always hand the outcome to the model.
ToolResult CallTool(Tool& tool, std::string_view args_json, std::chrono::milliseconds timeout);

class ToolSet {
 public:
  void Add(std::shared_ptr<Tool> tool);
  Tool* Find(std::string_view name) const;
  const std::vector<std::shared_ptr<Tool>>& all() const { return tools_; }
  // [{"type":"function","function":{"name","description","parameters"}}, ...]
  std::string OpenAiTools() const;

 private:
  std::vector<std::shared_ptr<Tool>> tools_;
};

}  // namespace tandem::agency
