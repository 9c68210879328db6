// RunStore: durable runs — agents and workflows — and their steps, in the ledger's SQLite file.
//
// A run is a row in `runs` (kind agent|workflow, its name, inputs, status, output); every step is a row in
// `run_steps`, keyed by (run id, step key), holding its input, output, the model that served it, the route
// decision, tokens, cost and timing. PutStep() commits the step together with the ledger row of its model call
// (the `requests` table, request id "<run id>/<step key>") in one transaction before the caller goes on, so once
// a step is recorded it survives a SIGKILL (WAL, synchronous=NORMAL) and a resumed run finds it instead of
// calling the model again. Several processes may share the file (the CLI beside a server): writers take the
// lock up front and wait for each other. Thread-safe (one connection behind a mutex).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "ledger/record.h"
#include "ledger/sqlite_store.h"

namespace tandem::agency {

struct RunRecord {
  std::string id;
  std::string kind;    // agent | workflow
  std::string name;    // the workflow's name, or "agent"
  std::string spec;    // what is needed to run it again: the workflow file, or the agent's options (JSON)
  std::string input;   // JSON: the workflow's inputs, or {"task": ...}
  std::string status;  // running | waiting_approval | done | failed | rejected | max_steps | max_cost | repeated_call | model_error
  std::string output;  // JSON
  std::string error;
  std::string owner;  // who runs it: "server" (resumed by the server after a restart) or "cli"
  std::string key_id;  // the client key that started it over HTTP ("" otherwise); its model calls carry it
  int64_t created_us = 0, updated_us = 0;
};

struct StepRecord {
  std::string run_id;
  std::string key;     // unique in the run: "classify", "items[2].summarize", "step 3"
  std::string parent;  // the key of the loop/branch/step it belongs to ("" at the top)
  std::string kind;    // model | tool | approval | condition | loop | parallel | agent
  std::string status;  // ok | error | skipped | waiting | approved | rejected
  std::string input;   // the prompt or the tool's arguments
  std::string output;  // JSON (or text) the later steps read
  std::string model, tier, reasons;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
  int64_t start_us = 0;  // wall clock
  int64_t ms = 0;
  int attempts = 0;
  std::string error;
  int64_t seq = 0;  // order of recording (set by the store)
};

// For a store write whose failure the caller cannot undo (a run's last status, a trace step): says so on stderr
// ("tandem: run <id>: <why>"), so nothing is lost silently. Does nothing when `st` is ok.
void ReportStoreError(const Status& st, const std::string& run_id);

class RunStore {
 public:
  static Result<std::unique_ptr<RunStore>> Open(const std::string& path);

  Status CreateRun(const RunRecord& run);
  Status UpdateRun(const std::string& id, const std::string& status, const std::string& output,
                   const std::string& error);
  Result<RunRecord> GetRun(const std::string& id) const;
  // Runs with this status ("" = all), newest first; with `key_id`, only the runs that client key started.
  Result<std::vector<RunRecord>> ListRuns(const std::string& status, int limit = 100,
                                          const std::string* key_id = nullptr) const;
  // Claims the right to execute a run, so two processes never run it at once: succeeds when the run is free,
  // already ours, or held by a process that is gone (same host, pid no longer alive) or whose claim expired
  // (`ttl_s` after its last step). kUnavailable names the holder otherwise. Release() gives it up.
  static constexpr int kClaimSeconds = 600;
  Status Claim(const std::string& run_id, int ttl_s = kClaimSeconds);
  void Release(const std::string& run_id);
  // Records (or replaces) a step; `ledger_row`, when given, is committed in the same transaction.
  Status PutStep(const StepRecord& step, const LedgerRecord* ledger_row = nullptr);
  Result<std::vector<StepRecord>> Steps(const std::string& run_id) const;

 private:
  explicit RunStore(std::unique_ptr<SqliteStore> db);
  std::unique_ptr<SqliteStore> db_;
  mutable std::mutex mu_;
  std::string holder_;              // "host:pid" of this process
  std::set<std::string> running_;   // runs this store's process is executing now
};

// A fresh run id: "run_" + 16 hex digits.
std::string NewRunId();

}  // namespace tandem::agency
