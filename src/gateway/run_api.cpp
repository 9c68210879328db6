#include "gateway/run_api.h"

// clang-format off
#include "core/asio.h"
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
// clang-format on
#include <simdjson.h>

#include <filesystem>
#include <sstream>

#include "agency/trace.h"
#include "agency/workflow_runner.h"
#include "core/json_writer.h"
#include "gateway/chat_handler.h"
#include "gateway/runs.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;

Headers Json() {
  Headers h;
  h.emplace_back("content-type", "application/json");
  return h;
}

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 128) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

std::string QueryParam(const std::string& target, const std::string& name) {
  const size_t q = target.find('?');
  if (q == std::string::npos) return "";
  std::stringstream ss(target.substr(q + 1));
  for (std::string kv; std::getline(ss, kv, '&');) {
    const size_t eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return "";
}

// An optional field of a request body: absent, `*out` keeps its default; of another type, an error naming it.
template <class T>
Status Optional(simdjson::dom::element doc, const char* key, const char* type, T* out) {
  simdjson::dom::element v;
  if (doc[key].get(v)) return Status::Ok();
  if (v.get(*out)) return Status(Code::kInvalidArgument, std::string("'") + key + "' must be " + type);
  return Status::Ok();
}

// A waiter for a run on a worker thread: the worker's done() wakes the request's coroutine on its own loop.
struct Wake {
  std::shared_ptr<asio::steady_timer> timer;
  std::function<void()> done;
};
Wake MakeWake(const asio::any_io_executor& ex) {
  Wake w;
  w.timer = std::make_shared<asio::steady_timer>(ex, std::chrono::steady_clock::time_point::max());
  w.done = [ex, weak = std::weak_ptr<asio::steady_timer>(w.timer)] {
    asio::post(ex, [weak] {
      if (auto t = weak.lock()) t->cancel();
    });
  };
  return w;
}

Result<std::string> WorkflowPath(const Config& cfg, const std::string& name) {
  if (cfg.agency.workflows_dir.empty())
    return Status(Code::kNotFound, "no workflows are served here (set agency.workflows in the config)");
  if (!ValidName(name)) return Status(Code::kNotFound, "no workflow named '" + name + "'");
  for (const char* ext : {".yaml", ".yml"}) {
    fs::path p = fs::path(cfg.agency.workflows_dir) / (name + ext);
    if (fs::exists(p)) return p.string();
  }
  return Status(Code::kNotFound, "no workflow named '" + name + "' in " + cfg.agency.workflows_dir +
                                     " (GET /v1/workflows lists them)");
}

}  // namespace

RunApi::RunApi(Runtime& rt, std::unique_ptr<agency::RunStore> store) : rt_(rt), store_(std::move(store)) {
  const int n = std::max(1, rt_.snapshot()->config.agency.run_workers);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
  // Runs this server started and did not finish: resume them (finished steps are not run again).
  auto running = store_->ListRuns("running", 1000);
  if (running.ok()) {
    for (const auto& r : running.value()) {
      if (r.owner != "server") continue;
      if (r.kind == "agent") {  // agent runs are not durable: say what happened to them
        agency::ReportStoreError(store_->UpdateRun(r.id, "interrupted", "", "the server stopped during the run"),
                                 r.id);
        continue;
      }
      std::fprintf(stderr, "tandem: resuming workflow run %s (%s)\n", r.id.c_str(), r.name.c_str());
      StartWorkflow(r.id, nullptr);
    }
  }
}

RunApi::~RunApi() {
  stop_runs_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    jobs_.clear();  // queued runs stay `running` in the store: the next start resumes them
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void RunApi::Enqueue(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void RunApi::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void RunApi::StartWorkflow(const std::string& run_id, std::function<void()> done) {
  std::shared_ptr<const Snapshot> snap = rt_.snapshot();
  Enqueue([this, snap, run_id, done = std::move(done)] {
    Execute(*snap, run_id, nullptr);
    if (done) done();
  });
}

void RunApi::Execute(const Snapshot& snap, const std::string& run_id, const PreparedWorkflow* prepared) {
  agency::WorkflowOutcome o =
      ExecuteWorkflowRun(snap, *store_, run_id, snap.config.agency.tools, {}, &stop_runs_, prepared, &rt_);
  if (o.status == "failed") std::fprintf(stderr, "tandem: workflow run %s failed: %s\n", run_id.c_str(), o.error.c_str());
}

bool RunApi::Routes(const std::string& path) {
  return path == "/v1/agent/runs" || path == "/v1/workflows" || path.rfind("/v1/workflows/", 0) == 0 ||
         path == "/v1/runs" || path.rfind("/v1/runs/", 0) == 0;
}

asio::awaitable<void> RunApi::Reply(Responder& out, const std::string& run_id, int status) {
  auto run = store_->GetRun(run_id);
  if (!run.ok()) {
    co_await SendError(out, run.status());
    co_return;
  }
  auto steps = store_->Steps(run_id);
  if (!steps.ok()) {
    co_await SendError(out, steps.status());
    co_return;
  }
  Headers h = Json();
  h.emplace_back("x-tandem-run-id", run_id);
  co_await out.send(status, h, agency::RunJson(run.value(), steps.value()));
}

asio::awaitable<void> RunApi::handle(const HttpRequestIn& in, Responder& out) {
  std::shared_ptr<const Snapshot> snap = rt_.snapshot();
  auto auth = Authenticate(snap->config, in.header("authorization"));
  if (!auth.ok()) {
    co_await SendError(out, auth.status());
    co_return;
  }
  const std::string path = in.path();
  const bool post = in.method == "POST";
  // With client keys configured, a key sees, traces and approves only the runs it started: runs hold prompts,
  // tool results and answers. Another key's run reads as missing, so its existence is not disclosed either.
  const std::string* scope = snap->config.keys.empty() ? nullptr : &auth.value();
  if (path == "/v1/agent/runs") {
    if (!post) co_await SendError(out, Status(Code::kInvalidArgument, "use POST for " + path));
    else co_await AgentRun(in, out, auth.value());
    co_return;
  }
  if (path == "/v1/workflows") {
    if (post) co_await SendError(out, Status(Code::kInvalidArgument, "use GET for " + path));
    else co_await ListWorkflows(out);
    co_return;
  }
  if (path.rfind("/v1/workflows/", 0) == 0) {
    const std::string rest = path.substr(14);
    const size_t slash = rest.find('/');
    if (slash == std::string::npos || rest.substr(slash) != "/runs" || !post) {
      co_await SendError(out, Status(Code::kNotFound, "no route for " + in.method + " " + path +
                                                          " (POST /v1/workflows/{name}/runs starts a run)"));
      co_return;
    }
    co_await WorkflowRun(rest.substr(0, slash), in, out, auth.value());
    co_return;
  }
  if (path == "/v1/runs") {
    auto runs = store_->ListRuns(QueryParam(in.target, "status"), 100, scope);
    if (!runs.ok()) {
      co_await SendError(out, runs.status());
      co_return;
    }
    std::string body;
    JsonWriter w(body);
    w.begin_object().kv("object", "list").key("data").begin_array();
    for (const auto& r : runs.value()) {
      w.begin_object().kv("id", r.id).kv("kind", r.kind).kv("name", r.name).kv("status", r.status);
      w.kv("created_us", r.created_us).kv("updated_us", r.updated_us).end_object();
    }
    w.end_array().end_object();
    co_await out.send(200, Json(), std::move(body));
    co_return;
  }
  // /v1/runs/{id}[/trace | /approve]
  const std::string rest = path.substr(9);
  const size_t slash = rest.find('/');
  const std::string id = rest.substr(0, slash), action = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (scope) {
    auto run = store_->GetRun(id);
    if (run.ok() && run->key_id != *scope) {
      co_await SendError(out, Status(Code::kNotFound, "no run '" + id + "' in the ledger"));
      co_return;
    }
  }
  if (action == "approve" && post) {
    co_await Approve(id, in, out);
    co_return;
  }
  if (post || (action != "" && action != "trace")) {
    co_await SendError(out, Status(Code::kNotFound, "no route for " + in.method + " " + path));
    co_return;
  }
  if (action.empty()) {
    co_await Reply(out, id, 200);
    co_return;
  }
  auto run = store_->GetRun(id);
  auto steps = store_->Steps(id);
  if (!run.ok() || !steps.ok()) {
    co_await SendError(out, run.ok() ? steps.status() : run.status());
    co_return;
  }
  const std::string format = QueryParam(in.target, "format");
  if (format == "text") {
    Headers h;
    h.emplace_back("content-type", "text/plain; charset=utf-8");
    co_await out.send(200, h, agency::TraceText(run.value(), steps.value()));
  } else {
    co_await out.send(200, Json(), agency::OtelJson(run.value(), steps.value()));
  }
}

asio::awaitable<void> RunApi::AgentRun(const HttpRequestIn& in, Responder& out, const std::string& key_id) {
  std::shared_ptr<const Snapshot> snap = rt_.snapshot();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view task;
  if (parser.parse(in.body).get(doc) || !doc.is_object()) {
    co_await SendError(out, Status(Code::kInvalidArgument, "the body must be a JSON object"));
    co_return;
  }
  if (doc["task"].get(task) || task.empty()) {
    co_await SendError(out, Status(Code::kInvalidArgument, "'task' (a non-empty string) is required"));
    co_return;
  }
  auto req = std::make_shared<AgentRunRequest>();
  req->task = std::string(task);
  req->tools = snap->config.agency.tools;
  req->owner = "server";
  req->key_id = key_id;
  req->runtime = &rt_;
  std::string_view model = "auto", pattern;
  int64_t steps = req->options.max_steps;
  double cap = 0;
  bool wait = true;
  for (Status st : {Optional(doc, "model", "a model name", &model), Optional(doc, "max_steps", "an integer", &steps),
                    Optional(doc, "max_cost_usd", "a number", &cap),
                    Optional(doc, "answer_pattern", "a regular expression", &pattern),
                    Optional(doc, "wait", "true or false", &wait)}) {
    if (!st.ok()) {
      co_await SendError(out, st);
      co_return;
    }
  }
  if (steps < 1 || steps > 100) {
    co_await SendError(out, Status(Code::kInvalidArgument, "'max_steps' must be in [1, 100]"));
    co_return;
  }
  req->model = std::string(model);
  req->options.max_steps = static_cast<int>(steps);
  req->options.max_cost_usd = cap;
  req->answer_pattern = std::string(pattern);
  simdjson::dom::array names;
  if (!doc["tools"].get(names)) {
    for (simdjson::dom::element n : names) {
      std::string_view name;
      if (n.get(name)) {
        co_await SendError(out, Status(Code::kInvalidArgument, "'tools' must be a list of tool names"));
        co_return;
      }
      req->only.emplace_back(name);
    }
    if (req->only.empty()) req->tools.clear();  // [] = no tools at all
  }
  // The worker reports the run's id when the run is recorded (no wait) or when it stops (wait).
  auto started = std::make_shared<std::pair<std::string, Status>>();
  Wake wake = MakeWake(co_await asio::this_coro::executor);
  if (!wait) req->on_start = [started, done = wake.done](const std::string& id) {
    started->first = id;
    done();
  };
  Enqueue([this, snap, req, started, done = wake.done, wait] {
    auto run = ExecuteAgentRun(*snap, store_.get(), *req);
    if (!run.ok()) {
      started->second = run.status();
      done();
    } else if (wait) {
      started->first = run.value().run_id;
      done();
    }
  });
  boost::system::error_code ec;
  co_await wake.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!started->second.ok()) {
    co_await SendError(out, started->second);
    co_return;
  }
  co_await Reply(out, started->first, wait ? 200 : 202);
}

asio::awaitable<void> RunApi::WorkflowRun(const std::string& name, const HttpRequestIn& in, Responder& out,
                                          const std::string& key_id) {
  std::shared_ptr<const Snapshot> snap = rt_.snapshot();
  auto path = WorkflowPath(snap->config, name);
  if (!path.ok()) {
    co_await SendError(out, path.status());
    co_return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc, inputs;
  if (parser.parse(in.body.empty() ? std::string("{}") : in.body).get(doc) || !doc.is_object()) {
    co_await SendError(out, Status(Code::kInvalidArgument, "the body must be a JSON object: {\"inputs\": {...}}"));
    co_return;
  }
  std::string inputs_json = "{}";
  if (!doc["inputs"].get(inputs)) inputs_json = simdjson::minify(inputs);
  bool wait = true;
  if (Status st = Optional(doc, "wait", "true or false", &wait); !st.ok()) {
    co_await SendError(out, st);
    co_return;
  }
  // Preparing builds the workflow's tools (MCP servers start): a worker does it, never a network thread. The
  // worker reports the run's id once it is recorded (no wait) or once it stops (wait), or why it could not start.
  auto started = std::make_shared<std::pair<std::string, Status>>();
  Wake wake = MakeWake(co_await asio::this_coro::executor);
  Enqueue([this, snap, file = path.value(), name, inputs_json, key_id, wait, started, done = wake.done] {
    auto p = PrepareWorkflowFile(*snap, file, snap->config.agency.tools);
    if (!p.ok()) {
      started->second = Status(Code::kInternal, "workflow " + name + " is invalid: " + p.status().message());
      return done();
    }
    auto id = agency::StartWorkflowRun(*store_, p->workflow, p->text, inputs_json, "server", key_id);
    if (!id.ok()) {
      started->second = id.status();
      return done();
    }
    started->first = id.value();
    if (!wait) done();
    Execute(*snap, id.value(), &p.value());
    if (wait) done();
  });
  boost::system::error_code ec;
  co_await wake.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!started->second.ok()) {
    co_await SendError(out, started->second);
    co_return;
  }
  co_await Reply(out, started->first, wait ? 200 : 202);
}

asio::awaitable<void> RunApi::Approve(const std::string& run_id, const HttpRequestIn& in, Responder& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(in.body.empty() ? std::string("{}") : in.body).get(doc) || !doc.is_object()) {
    co_await SendError(out, Status(Code::kInvalidArgument, "the body must be a JSON object"));
    co_return;
  }
  std::string_view step, by, note;
  bool approved = true, wait = true;
  for (Status st : {Optional(doc, "step", "a step key", &step), Optional(doc, "by", "a text", &by),
                    Optional(doc, "note", "a text", &note), Optional(doc, "approved", "true or false", &approved),
                    Optional(doc, "wait", "true or false", &wait)}) {
    if (!st.ok()) {
      co_await SendError(out, st);
      co_return;
    }
  }
  auto run = store_->GetRun(run_id);
  if (!run.ok()) {
    co_await SendError(out, run.status());
    co_return;
  }
  if (run.value().kind != "workflow") {
    co_await SendError(out, Status(Code::kInvalidArgument, "run " + run_id + " is not a workflow run"));
    co_return;
  }
  Status st = agency::DecideApproval(*store_, run_id, std::string(step), approved, std::string(by), std::string(note));
  if (!st.ok()) {
    co_await SendError(out, st);
    co_return;
  }
  if (!wait) {
    StartWorkflow(run_id, nullptr);
    co_await Reply(out, run_id, 202);
    co_return;
  }
  Wake wake = MakeWake(co_await asio::this_coro::executor);
  StartWorkflow(run_id, wake.done);
  boost::system::error_code ec;
  co_await wake.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_await Reply(out, run_id, 200);
}

asio::awaitable<void> RunApi::ListWorkflows(Responder& out) {
  std::shared_ptr<const Snapshot> snap = rt_.snapshot();
  std::string body;
  JsonWriter w(body);
  w.begin_object().kv("object", "list").key("data").begin_array();
  const std::string& dir = snap->config.agency.workflows_dir;
  std::error_code ec;
  std::vector<fs::path> files;
  if (!dir.empty())
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    auto wf = CheckWorkflowFile(*snap, p.string());
    w.begin_object().kv("name", p.stem().string());
    if (!wf.ok()) {
      w.kv("valid", false).kv("error", wf.status().message()).end_object();
      continue;
    }
    w.kv("valid", true).kv("description", wf.value().description).key("inputs").begin_array();
    for (const auto& in : wf.value().inputs) {
      w.begin_object().kv("name", in.name).kv("type", in.type).kv("required", in.required);
      if (!in.description.empty()) w.kv("description", in.description);
      w.end_object();
    }
    w.end_array().kv("steps", static_cast<int64_t>(wf.value().steps.size())).end_object();
  }
  w.end_array().end_object();
  co_await out.send(200, Json(), std::move(body));
}

}  // namespace tandem
