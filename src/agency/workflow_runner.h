// Workflow runs: executes a parsed Workflow step by step, checkpointing each step in the RunStore before the
// next one starts, so a run killed at any point resumes where it stopped without repeating a finished step.
//
// StartWorkflowRun() checks the inputs against the declared ones (required, types, defaults) and records the run
// (with the workflow's text, so a resume runs the definition it started with). RunWorkflow() then runs — or
// resumes — it: a step already recorded as ok, skipped or approved is not run again; its recorded output is read
// instead. Model steps render their prompt, ask the model (through the caller's callback, which routes it and
// returns the gateway's ledger row) and, with an output schema, require JSON that matches it; tool steps validate
// their arguments against the tool's schema. A failure is retried (`retry.attempts`, the wait doubling from
// `backoff_ms`), then handled by `on_error`: fail the run, skip the step (output null), escalate (the same step
// on the LLM), or run the fallback step. An approval step with no decision records itself as waiting and the run
// returns `waiting_approval`; a run another live process is executing is left alone (`busy`, RunStore::Claim).
// DecideApproval() records the decision, and the next RunWorkflow() goes on (or,
// rejected, treats it as the step's failure). Loops run their body once per item; parallel branches run on their
// own threads. Thread-safe as far as the callbacks are (the model callback is called concurrently for branches).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "agency/lm_agent.h"
#include "agency/run_store.h"
#include "agency/tool.h"
#include "agency/workflow.h"

namespace tandem::agency {

struct WorkflowRunOptions {
  // One model call: an OpenAI chat request with its "model"; a timeout of 0 means the provider's own.
  std::function<ModelTurn(const std::string& request_body, std::chrono::milliseconds timeout)> model;
  // "slm" / "llm" -> the configured model of that tier; other names are returned as they are.
  std::function<std::string(const std::string& model)> resolve;
  const ToolSet* tools = nullptr;
  std::function<void(const StepRecord&)> progress;  // each recorded step, as it is recorded
  std::function<void(std::chrono::milliseconds)> sleep;  // retry backoff (default: sleep the thread)
  std::chrono::milliseconds default_tool_timeout{30000};
  // Set (by a shutting-down server) to stop before the next step; the run stays `running`, to be resumed.
  const std::atomic<bool>* stop = nullptr;
};

struct WorkflowOutcome {
  // done | failed | waiting_approval | rejected | busy (another process is running it) | running (stopped by
  // WorkflowRunOptions::stop before a step; resumable)
  std::string status;
  std::string output;  // JSON
  std::string error;
  double cost_usd = 0;  // of the whole run so far, resumed parts included
};

// Validates `inputs_json` (an object) against the workflow's inputs and records a new run; returns its id.
Result<std::string> StartWorkflowRun(RunStore& store, const Workflow& wf, const std::string& workflow_text,
                                     const std::string& inputs_json, const std::string& owner = "cli",
                                     const std::string& key_id = "");
WorkflowOutcome RunWorkflow(RunStore& store, const Workflow& wf, const std::string& run_id,
                            const WorkflowRunOptions& opt);
// Records the decision on a waiting approval step (`step` is its key, its id, or "" for the one waiting); the
// run goes on at the next RunWorkflow().
Status DecideApproval(RunStore& store, const std::string& run_id, const std::string& step, bool approved,
                      const std::string& by, const std::string& note);

}  // namespace tandem::agency
