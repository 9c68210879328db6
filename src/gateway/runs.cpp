#include "gateway/runs.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

#include <re2/re2.h>

#include "agency/tool_specs.h"
#include "core/json_writer.h"
#include "core/read_file.h"
#include "gateway/gateway_client.h"

namespace tandem {
namespace {

// One routed model call. `client` is reused when the caller owns one on this thread (its upstream connections
// stay pooled); otherwise a fresh one serves the call, so concurrent branches never share an event loop.
agency::ModelTurn CallModel(const Snapshot& snap, const std::string& body, std::chrono::milliseconds timeout,
                            const std::string& key_id, GatewayClient* client = nullptr, Runtime* rt = nullptr) {
  agency::ModelTurn turn;
  auto req = ParseChatRequest(body);
  if (!req.ok()) {
    turn.status = req.status();
    return turn;
  }
  std::optional<GatewayClient> fresh;
  if (!client) client = &fresh.emplace(snap, rt);
  GatewayClient::Answer a = client->Chat(req.value(), timeout);
  turn.status = a.status;
  turn.body = std::move(a.body);
  turn.model = a.model;
  turn.cost_usd = a.cost_usd;
  turn.row = std::move(a.row);
  turn.row.key_id = key_id;
  turn.on_committed = std::move(a.judge);
  return turn;
}

std::string ResolveTier(const Snapshot& snap, const std::string& model) {
  if (model == "slm" || model == "llm") return snap.policy->resolve(model);
  return model;
}

}  // namespace

namespace {

// The names checked against this configuration: configured models and aliases; tools when `tools` is given (it is
// filled with the tools of the workflow's specs plus `extra_tools`, built once, as the validator asks for them).
agency::WorkflowEnv EnvFor(const Snapshot& snap, const std::vector<std::string>& extra_tools, const std::string& dir,
                           std::shared_ptr<agency::ToolSet> tools) {
  agency::WorkflowEnv env;
  env.model_known = [&snap](const std::string& m) {
    return snap.config.find(m) != nullptr || snap.config.routing.aliases.count(m) > 0;
  };
  if (!tools) return env;
  env.tool_names = [extra_tools, dir, tools](const std::vector<std::string>& specs, std::string* error) {
    std::vector<std::string> all = specs;
    all.insert(all.end(), extra_tools.begin(), extra_tools.end());
    Status st = agency::AddTools(all, dir, *tools);
    if (!st.ok()) *error = st.message();
    std::vector<std::string> names;
    for (const auto& t : tools->all()) names.push_back(t->spec().name);
    return names;
  };
  return env;
}

}  // namespace

Result<PreparedWorkflow> PrepareWorkflow(const Snapshot& snap, const std::string& text, const std::string& file,
                                         const std::vector<std::string>& extra_tools) {
  PreparedWorkflow p;
  p.text = text;
  p.tools = std::make_shared<agency::ToolSet>();
  const std::string dir = std::filesystem::path(file).parent_path().string();
  auto wf = agency::ParseWorkflow(text, file, EnvFor(snap, extra_tools, dir, p.tools));
  if (!wf.ok()) return wf.status();
  p.workflow = std::move(wf.value());
  return p;
}

Result<PreparedWorkflow> PrepareWorkflowFile(const Snapshot& snap, const std::string& path,
                                             const std::vector<std::string>& extra_tools) {
  auto text = ReadFile(path, "the workflow");
  if (!text.ok()) return text.status();
  return PrepareWorkflow(snap, text.value(), path, extra_tools);
}

Result<agency::Workflow> CheckWorkflowFile(const Snapshot& snap, const std::string& path) {
  auto text = ReadFile(path, "the workflow");
  if (!text.ok()) return text.status();
  return agency::ParseWorkflow(text.value(), path, EnvFor(snap, {}, "", nullptr));
}

agency::WorkflowOutcome ExecuteWorkflowRun(const Snapshot& snap, agency::RunStore& store, const std::string& run_id,
                                           const std::vector<std::string>& extra_tools,
                                           const std::function<void(const agency::StepRecord&)>& progress,
                                           const std::atomic<bool>* stop, const PreparedWorkflow* prepared,
                                           Runtime* rt) {
  agency::WorkflowOutcome out;
  out.status = "failed";
  auto run = store.GetRun(run_id);
  if (!run.ok()) {
    out.error = run.status().message();
    return out;
  }
  if (run.value().kind != "workflow") {
    out.error = "run " + run_id + " is an " + run.value().kind + " run, not a workflow";
    return out;
  }
  // The spec holds the workflow's file name, a newline, and its text: the definition the run started with.
  std::optional<PreparedWorkflow> own;
  if (!prepared) {
    const std::string& spec = run.value().spec;
    const size_t nl = spec.find('\n');
    auto p = PrepareWorkflow(snap, nl == std::string::npos ? "" : spec.substr(nl + 1), spec.substr(0, nl),
                             extra_tools);
    if (!p.ok()) {
      out.error = p.status().message();
      agency::ReportStoreError(store.UpdateRun(run_id, "failed", "", out.error), run_id);
      return out;
    }
    prepared = &own.emplace(std::move(p.value()));
  }
  agency::WorkflowRunOptions opt;
  const std::string key_id = run.value().key_id;
  // Steps on this thread share one client (and its pooled connections); parallel branches make their own.
  GatewayClient mine(snap, rt);
  const std::thread::id owner = std::this_thread::get_id();
  opt.model = [&snap, &mine, owner, key_id, rt](const std::string& body, std::chrono::milliseconds timeout) {
    return CallModel(snap, body, timeout, key_id, std::this_thread::get_id() == owner ? &mine : nullptr, rt);
  };
  opt.resolve = [&snap](const std::string& m) { return ResolveTier(snap, m); };
  opt.tools = prepared->tools.get();
  opt.progress = progress;
  opt.stop = stop;
  return agency::RunWorkflow(store, prepared->workflow, run_id, opt);
}

Result<AgentRunOutcome> ExecuteAgentRun(const Snapshot& snap, agency::RunStore* store, const AgentRunRequest& req) {
  agency::ToolSet all, tools;
  Status added = agency::AddTools(req.tools, "", all);
  if (!added.ok()) return added;
  if (req.only.empty()) tools = all;
  for (const auto& name : req.only) {
    const auto& list = all.all();
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& t) { return t->spec().name == name; });
    if (it == list.end()) {
      std::string names;
      for (const auto& t : list) names += (names.empty() ? "" : ", ") + t->spec().name;
      return Status(Code::kInvalidArgument, "tool '" + name + "' is not available here (available: " +
                                                (names.empty() ? "none; see agency.tools" : names) + ")");
    }
    tools.Add(*it);
  }
  if (req.model != "auto" && !snap.config.find(req.model) && !snap.config.routing.aliases.count(req.model))
    return Status(Code::kNotFound, "no model '" + req.model + "' is configured (auto, an alias or a model's name)");
  agency::AgentOptions opt = req.options;
  std::shared_ptr<re2::RE2> pattern;
  if (!req.answer_pattern.empty()) {
    pattern = std::make_shared<re2::RE2>(req.answer_pattern, re2::RE2::Quiet);
    if (!pattern->ok())
      return Status(Code::kInvalidArgument, "answer pattern '" + req.answer_pattern + "': " + pattern->error());
    opt.final_check = [pattern](const std::string& answer) -> std::string {
      if (re2::RE2::PartialMatch(answer, *pattern)) return "";
      return "the answer must match the pattern " + pattern->pattern();
    };
  }
  AgentRunOutcome out;
  out.run_id = agency::NewRunId();
  if (store) {
    agency::RunRecord run;
    run.id = out.run_id;
    run.kind = "agent";
    run.name = "agent";
    std::string spec;
    JsonWriter w(spec);
    w.begin_object().kv("model", req.model).key("tools").begin_array();
    for (const auto& t : req.tools) w.value(t);
    w.end_array().kv("max_steps", static_cast<int64_t>(req.options.max_steps));
    w.kv("max_cost_usd", req.options.max_cost_usd).end_object();
    run.spec = spec;
    run.input = "{\"task\":" + JsonString(req.task) + "}";
    run.status = "running";
    run.owner = req.owner;
    run.key_id = req.key_id;
    Status st = store->CreateRun(run);
    if (!st.ok()) return st;
  }
  if (req.on_start) req.on_start(out.run_id);
  int step_index = 0;
  GatewayClient client(snap, req.runtime);  // the loop calls the model from this thread only
  // Each model call is one step; its tool calls are recorded as its children when the loop reports them.
  agency::ModelFn model = [&](const std::string& request, const std::string& tier) {
    const std::string target = tier == "llm" ? snap.policy->resolve("llm") : req.model;
    std::string body;
    body.reserve(request.size() + target.size() + 16);
    body.append("{\"model\":").append(JsonString(target)).append(",").append(request, 1, std::string::npos);
    const int64_t start = SystemClock::Get().wall_us();
    agency::ModelTurn turn = CallModel(snap, body, std::chrono::milliseconds(0), req.key_id, &client);
    ++step_index;
    if (store) {
      agency::StepRecord s;
      s.run_id = out.run_id;
      s.key = "step " + std::to_string(step_index);
      s.kind = "model";
      s.status = turn.status.ok() ? "ok" : "error";
      s.input = tier == "llm" ? "(escalated to the LLM)" : "";
      s.output = turn.status.ok() ? turn.body : "null";
      s.model = turn.model;
      s.tier = turn.row.tier;
      s.reasons = (tier == "llm" ? "escalated: the small model produced no valid call; " : "") + turn.row.reasons;
      s.prompt_tokens = turn.row.prompt_tokens;
      s.completion_tokens = turn.row.completion_tokens;
      s.cost_usd = turn.cost_usd;
      s.start_us = start;
      s.ms = turn.row.total_us / 1000;
      s.attempts = turn.row.attempts;
      s.error = turn.status.ok() ? "" : turn.status.message();
      LedgerRecord row = turn.row;
      row.request_id = out.run_id + "/" + s.key;
      if (store->PutStep(s, &row).ok() && turn.on_committed) turn.on_committed(row);
    }
    return turn;
  };
  auto previous = opt.on_step;
  opt.on_step = [&](const agency::AgentStep& st) {
    if (previous) previous(st);
    if (!store) return;
    for (size_t i = 0; i < st.calls.size(); ++i) {
      agency::StepRecord c;
      c.run_id = out.run_id;
      c.parent = "step " + std::to_string(st.index);
      c.key = c.parent + ".call " + std::to_string(i);
      c.kind = "tool";
      c.model = st.calls[i].name;
      c.input = st.calls[i].arguments;
      const bool has = i < st.results.size();
      c.status = has && st.results[i].is_error ? "error" : "ok";
      c.output = has ? JsonString(st.results[i].content) : "null";
      c.error = has && st.results[i].is_error ? st.results[i].content : "";
      c.start_us = SystemClock::Get().wall_us();
      agency::ReportStoreError(store->PutStep(c), c.run_id);
    }
  };
  out.result = agency::RunAgent(req.task, tools, model, opt);
  if (store) {
    std::string output = out.result.status == agency::AgentStatus::kDone ? JsonString(out.result.answer) : "null";
    const std::string why = out.result.status == agency::AgentStatus::kDone ? "" : out.result.reason;
    agency::ReportStoreError(store->UpdateRun(out.run_id, agency::AgentStatusName(out.result.status), output, why),
                             out.run_id);
  }
  return out;
}

}  // namespace tandem
