// Workflow: a Code Agency controller declared in YAML — the path is fixed; models only generate inside steps.
//
//   name: ticket-enrichment
//   inputs: {ticket: {type: string, required: true}, channel: {type: string, default: email}}
//   tools: [calculator, "sql=tickets.db"]           # tool specs, as `tandem agent --tools` takes them
//   steps:
//     - id: classify                                # a model step
//       model: auto                                 # auto | slm | llm | a configured model
//       prompt: "Classify: {{ inputs.ticket }}"     # {{ path }} templates (agency/template.h)
//       output_schema: {type: object, ...}          # enforced: the answer must be JSON that matches
//       retry: {attempts: 3, backoff_ms: 200}       # attempts in all; the wait doubles each time
//       timeout_ms: 30000
//       on_error: escalate                          # fail | skip | escalate (to the LLM) | fallback
//       fallback: {tool: ..., args: ...}            # the step run instead when on_error is fallback
//     - id: history                                 # a tool step
//       tool: sql
//       args: {query: "SELECT ... '{{ steps.classify.output.customer }}'"}
//     - id: approve                                 # pauses the run until approved (API or CLI)
//       if: steps.classify.output.priority == 'high'
//       approval: "Refund {{ inputs.amount }}?"
//     - id: each                                    # a loop over a list
//       for_each: steps.extract.output.items
//       as: item
//       steps: [...]
//     - id: both                                    # branches run concurrently
//       parallel: [{id: a, ...}, {id: b, ...}]
//     - id: refine                                  # evaluator-optimizer: repeat the body until a condition
//       repeat: {max: 3, until: "steps.review.output.ok"}
//       steps: [...]                                # `previous` holds the last iteration's outputs by id
//   output: {priority: "{{ steps.classify.output.priority }}"}
//
// ParseWorkflow() validates the whole file before anything runs and reports every problem as "file:line: what";
// a step may only read inputs that are declared and steps that run before it. Plain values; thread-safe to
// share once parsed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace YAML {
class Node;
}

namespace tandem::agency {

enum class StepKind { kModel, kTool, kApproval, kLoop, kParallel, kRepeat };
enum class OnError { kFail, kSkip, kEscalate, kFallback };
const char* StepKindName(StepKind k);

struct WorkflowStep {
  std::string id;
  int line = 0;
  StepKind kind = StepKind::kModel;
  std::string when;  // `if:` condition, "" = always
  // model
  std::string model = "auto", system, prompt, output_schema;  // schema as JSON, "" = free text
  int max_tokens = 512;
  double temperature = 0;
  // tool
  std::string tool;
  std::shared_ptr<const YAML::Node> args;  // a mapping whose string values are templates
  // approval
  std::string message;
  // loop (for_each) and repeat; both run `body`
  std::string for_each, as = "item";
  std::vector<WorkflowStep> body;
  std::string until;       // repeat: stop once this condition holds after an iteration
  int max_iterations = 0;  // repeat: at most this many iterations
  // parallel
  std::vector<WorkflowStep> branches;
  // failure handling
  int attempts = 1;
  int backoff_ms = 500;
  int timeout_ms = 0;  // 0 = the provider's own timeouts
  OnError on_error = OnError::kFail;
  std::shared_ptr<WorkflowStep> fallback;
};

struct WorkflowInput {
  std::string name, type = "string", description;
  bool required = true;
  std::string default_json;  // "" = none
};

struct Workflow {
  std::string name, description, file;
  std::vector<WorkflowInput> inputs;
  std::vector<std::string> tools;  // tool specs
  std::vector<WorkflowStep> steps;
  std::shared_ptr<const YAML::Node> output;  // null = the last step's output
};

// What the validator may check names against; null callbacks accept any name.
struct WorkflowEnv {
  std::function<bool(const std::string& model)> model_known;
  // Tool names the workflow's `tools` specs provide (plus any the caller adds).
  std::function<std::vector<std::string>(const std::vector<std::string>& specs, std::string* error)> tool_names;
};

// `file` names the source in errors. Every problem found is listed, one "file:line: ..." per line.
Result<Workflow> ParseWorkflow(const std::string& yaml_text, const std::string& file, const WorkflowEnv& env = {});

// A YAML value as JSON. With `scope`, string scalars are templates rendered by agency/template.h's Value().
class Scope;
Result<std::string> YamlToJson(const YAML::Node& node, const Scope* scope = nullptr);

}  // namespace tandem::agency
