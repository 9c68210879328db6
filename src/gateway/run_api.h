// RunApi: agents and workflows over HTTP.
//
//   POST /v1/agent/runs                 {"task", "tools": [names], "model", "max_steps", "max_cost_usd",
//                                        "answer_pattern" (RE2 the final answer must match), "wait"}
//   GET  /v1/workflows                  the workflows in agency.workflows (name, description, inputs)
//   POST /v1/workflows/{name}/runs      {"inputs": {...}, "wait"}
//   GET  /v1/runs[?status=...]          recent runs
//   GET  /v1/runs/{id}                  the run with its steps
//   GET  /v1/runs/{id}/trace[?format=otel|text]
//   POST /v1/runs/{id}/approve          {"step", "approved": true|false, "by", "note"}: decide, then resume
//
// Runs execute on their own worker threads (agency.run_workers), never on the network threads; with "wait"
// (the default) the answer comes when the run stops — done, failed, or waiting for an approval — else 202 at
// once with the run's id. Agent runs may use only the tools named in agency.tools. Workflow runs the server
// started and did not finish (a crash, a restart) are resumed when it starts again, without redoing finished
// steps; agent runs it was executing are marked `interrupted` (they are traced, not durable). Client keys are checked as for chat completions. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agency/run_store.h"
#include "gateway/http_exchange.h"
#include "gateway/runs.h"
#include "gateway/runtime.h"

namespace tandem {

class RunApi {
 public:
  RunApi(Runtime& rt, std::unique_ptr<agency::RunStore> store);
  // Stops: workflow runs stop before their next step and queued ones are left for the next start (both stay
  // `running` in the store and resume then); agent runs in progress finish.
  ~RunApi();

  // Whether `path` is one of the run routes (then handle() answers it).
  static bool Routes(const std::string& path);
  asio::awaitable<void> handle(const HttpRequestIn& in, Responder& out);

 private:
  using Job = std::function<void()>;
  void Enqueue(Job job);
  void Work();
  // Runs (or resumes) a workflow run on a worker; `done` is called when it stops.
  void StartWorkflow(const std::string& run_id, std::function<void()> done);
  // Runs a workflow run on the calling worker (logging a failure); `prepared` as ExecuteWorkflowRun takes it.
  void Execute(const Snapshot& snap, const std::string& run_id, const PreparedWorkflow* prepared);
  asio::awaitable<void> Reply(Responder& out, const std::string& run_id, int status);
  asio::awaitable<void> AgentRun(const HttpRequestIn& in, Responder& out, const std::string& key_id);
  asio::awaitable<void> WorkflowRun(const std::string& name, const HttpRequestIn& in, Responder& out,
                                    const std::string& key_id);
  asio::awaitable<void> Approve(const std::string& run_id, const HttpRequestIn& in, Responder& out);
  asio::awaitable<void> ListWorkflows(Responder& out);

  Runtime& rt_;
  std::unique_ptr<agency::RunStore> store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::atomic<bool> stop_runs_{false};
  std::vector<std::thread> workers_;
};

}  // namespace tandem
