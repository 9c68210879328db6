// LM Agency: the model plans and calls tools itself, re-planning after every result.
//
// RunAgent() holds an OpenAI-format conversation (system, task, then per step the assistant's calls and each
// tool's result) and loops: ask the model with the tools plus `final_answer`; run the calls it made (in parallel,
// each validated against its schema first, errors returned to the model as results); repeat. It stops with a
// status, never by hanging: the model called `final_answer` (or answered in plain text) and the answer passed
// the optional check; the step cap; the cost cap; the same call (name and arguments) repeated more than allowed;
// or the model failing. Calls the model writes as text are read too (agency/model_calls.h). A model
// that produces no valid call `escalate_after` steps in a row gets the next step with tier hint "llm" (the
// caller routes it to the large model). The model is a callback, so the loop knows nothing of HTTP or routing;
// each step records which model answered, its cost and time. Not thread-safe per run; tools run concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "agency/model_calls.h"
#include "agency/tool.h"
#include "core/status.h"
#include "ledger/record.h"

namespace tandem::agency {

struct ModelTurn {
  Status status;
  std::string body;   // the OpenAI chat.completion response
  std::string model;  // who answered
  double cost_usd = 0;
  LedgerRecord row;  // the call as the gateway would record it: route decision, tokens, cost, timing
  // When set, the runner calls it once the step and its row are committed, with the row as committed (its final
  // request id): where the gateway starts work that refers to the row (a shadow judgment). Runs without a store
  // commit nothing and never call it.
  std::function<void(const LedgerRecord&)> on_committed;
};

// request_body: an OpenAI chat request (messages, tools; no model). tier: "" = let the router decide, "llm" =
// escalate this step.
using ModelFn = std::function<ModelTurn(const std::string& request_body, const std::string& tier)>;

struct AgentStep;

struct AgentOptions {
  int max_steps = 8;
  double max_cost_usd = 0;  // 0 = no cap
  int max_repeats = 1;      // how often one identical call may be repeated before the run stops
  int escalate_after = 2;   // steps in a row without a valid call before the next one goes to the LLM
  std::chrono::milliseconds tool_timeout{10000};
  std::string system_prompt =
      "You are an agent. Use the tools to work on the task, one step at a time, and call final_answer with the "
      "answer when you have it.";
  // Checks a final answer; "" accepts it, anything else is sent back to the model as the reason to go on.
  std::function<std::string(const std::string& answer)> final_check;
  // Called with each step once it is complete (its calls run), before the next one starts.
  std::function<void(const AgentStep&)> on_step;
};

enum class AgentStatus { kDone, kMaxSteps, kMaxCost, kRepeated, kModelError };
const char* AgentStatusName(AgentStatus s);

struct AgentStep {
  int index = 0;
  std::string model, tier;  // who answered; the hint it was asked with
  std::vector<ModelCall> calls;
  std::vector<ToolResult> results;  // one per call, same order
  std::string text;                 // what the model said besides calls
  std::string note;                 // e.g. "no valid call", "escalated"
  double cost_usd = 0;
  int64_t ms = 0;
};

struct AgentResult {
  AgentStatus status = AgentStatus::kModelError;
  std::string answer;
  std::string reason;  // why it stopped, in words
  std::vector<AgentStep> steps;
  double cost_usd = 0;
};

AgentResult RunAgent(const std::string& task, const ToolSet& tools, const ModelFn& model, const AgentOptions& opt);

}  // namespace tandem::agency
