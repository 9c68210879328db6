// Runs of both agency patterns against the gateway's configuration, recorded in the run store — shared by the
// CLI (`tandem run`, `tandem agent`) and the HTTP API (`POST /v1/workflows/{name}/runs`, `POST /v1/agent/runs`).
//
// Every model call of a step goes through GatewayClient, so it is routed, failed over and priced exactly like a
// request to /v1/chat/completions, and its ledger row (request id "<run id>/<step key>") is committed with the
// step. Given the serving Runtime (`tandem serve`), a step that routing.shadow samples is judged once committed. Workflow tools come from the workflow's `tools:` specs (paths relative to its file) plus `extra_tools`.
// Functions block until the run stops (done, failed, waiting for approval); call them off the network threads.
// Thread-safe given a thread-safe RunStore; each call uses its own event loop.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "agency/lm_agent.h"
#include "agency/run_store.h"
#include "agency/workflow.h"
#include "agency/workflow_runner.h"
#include "gateway/runtime.h"

namespace tandem {

// A workflow validated against this configuration (models, and the names of the tools it can use), with those
// tools built once — MCP servers started — ready to run. Tool paths resolve against the workflow file's folder.
struct PreparedWorkflow {
  agency::Workflow workflow;
  std::string text;  // the YAML it was parsed from
  std::shared_ptr<agency::ToolSet> tools;
};
Result<PreparedWorkflow> PrepareWorkflow(const Snapshot& snap, const std::string& text, const std::string& file,
                                         const std::vector<std::string>& extra_tools);
Result<PreparedWorkflow> PrepareWorkflowFile(const Snapshot& snap, const std::string& path,
                                             const std::vector<std::string>& extra_tools);
// Validates a workflow file without building its tools (a listing must not start MCP servers): everything but
// the tool names is checked.
Result<agency::Workflow> CheckWorkflowFile(const Snapshot& snap, const std::string& path);

// Runs (or resumes) a recorded workflow run; the workflow is the one recorded with the run — `prepared` when the
// caller has just prepared that same definition, else prepared here. `stop`, when set, makes the run stop
// before its next step (it stays `running`, to be resumed).
agency::WorkflowOutcome ExecuteWorkflowRun(const Snapshot& snap, agency::RunStore& store, const std::string& run_id,
                                           const std::vector<std::string>& extra_tools,
                                           const std::function<void(const agency::StepRecord&)>& progress = {},
                                           const std::atomic<bool>* stop = nullptr,
                                           const PreparedWorkflow* prepared = nullptr, Runtime* rt = nullptr);

struct AgentRunRequest {
  std::string task;
  std::vector<std::string> tools;  // tool specs
  std::string model = "auto";
  std::vector<std::string> only;  // when set, just these tools (by name) of the specs' tools
  std::string owner = "cli";
  std::string key_id;          // the client key that asked (its model calls carry it in the ledger)
  std::string answer_pattern;  // when set, a final answer must contain a match of this RE2 pattern
  std::function<void(const std::string& run_id)> on_start;  // once the run is recorded
  Runtime* runtime = nullptr;  // the serving Runtime, for routing.shadow judgments of the steps (null: none)
  agency::AgentOptions options;
};
struct AgentRunOutcome {
  std::string run_id;
  agency::AgentResult result;
};
// Runs an agent, recording the run, each step (the model call with its route decision) and each tool call.
Result<AgentRunOutcome> ExecuteAgentRun(const Snapshot& snap, agency::RunStore* store, const AgentRunRequest& req);

}  // namespace tandem
