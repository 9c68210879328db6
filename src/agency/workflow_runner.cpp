#include "agency/workflow_runner.h"

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "agency/json_schema.h"
#include "agency/template.h"
#include "core/clock.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

int64_t NowUs() { return SystemClock::Get().wall_us(); }

bool Finished(const std::string& status) { return status == "ok" || status == "skipped" || status == "approved"; }

enum class Flow { kOk, kWaiting, kFailed, kRejected, kStopped };

struct Outcome {
  Flow flow = Flow::kOk;
  std::string error;
};

// The assistant's text of a chat.completion, or why there is none.
Result<std::string> ContentOf(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view content;
  if (parser.parse(body).get(doc)) return Status(Code::kUpstream, "the model's answer is not JSON");
  if (doc["choices"].at(0)["message"]["content"].get(content))
    return Status(Code::kUpstream, "the model's answer has no text content");
  return std::string(content);
}

// The JSON inside a model's text: the text itself, or the first {...} / fenced block in it.
std::string JsonIn(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (!parser.parse(text).get(e)) return text;
  const size_t b = text.find('{'), e2 = text.rfind('}');
  if (b != std::string::npos && e2 != std::string::npos && e2 > b) return text.substr(b, e2 - b + 1);
  return text;
}

class Runner {
 public:
  Runner(RunStore& store, const Workflow& wf, std::string run_id, const WorkflowRunOptions& opt)
      : store_(store), wf_(wf), run_id_(std::move(run_id)), opt_(opt) {}

  WorkflowOutcome Run() {
    WorkflowOutcome out;
    auto run = store_.GetRun(run_id_);
    if (!run.ok()) {
      out.status = "failed";
      out.error = run.status().message();
      return out;
    }
    auto steps = store_.Steps(run_id_);
    if (!steps.ok()) {
      out.status = "failed";
      out.error = steps.status().message();
      return out;
    }
    for (auto& s : steps.value()) {
      cost_ += s.cost_usd;
      recorded_[s.key] = std::move(s);
    }
    if (Status claimed = store_.Claim(run_id_); !claimed.ok()) {  // never two runners on one run
      out.status = "busy";
      out.error = claimed.message();
      return out;
    }
    if (Status st = store_.UpdateRun(run_id_, "running", "", ""); !st.ok()) {  // a store that cannot record
      store_.Release(run_id_);                                                // steps cannot run them either
      out.status = "failed";
      out.error = st.message();
      return out;
    }
    Scope scope;
    scope.Set("inputs", run.value().input);
    std::string last = "null";
    Outcome o = Steps(wf_.steps, "", "", scope, &last);
    out.cost_usd = cost_;
    switch (o.flow) {
      case Flow::kOk: {
        out.status = "done";
        out.output = last;
        if (wf_.output) {
          auto v = YamlToJson(*wf_.output, &scope);
          if (v.ok()) {
            out.output = v.value();
          } else {
            out.status = "failed";
            out.error = "output: " + v.status().message();
          }
        }
        break;
      }
      case Flow::kWaiting:
        out.status = "waiting_approval";
        out.error = o.error;
        break;
      case Flow::kFailed:
        out.status = "failed";
        out.error = o.error;
        break;
      case Flow::kRejected:
        out.status = "rejected";
        out.error = o.error;
        break;
      case Flow::kStopped:  // still running as far as the store knows: the next start resumes it
        out.status = "running";
        out.error = o.error;
        break;
    }
    // The caller gets the outcome either way; a store that missed it still says "running", and the next start
    // resumes the run from its recorded steps to the same end.
    ReportStoreError(store_.UpdateRun(run_id_, out.status, out.output, out.error), run_id_);
    store_.Release(run_id_);
    return out;
  }

 private:
  Outcome Steps(const std::vector<WorkflowStep>& steps, const std::string& prefix, const std::string& parent,
                Scope& scope, std::string* last_output) {
    for (const auto& s : steps) {
      std::string output = "null";
      Outcome o = Step(s, prefix + s.id, parent, scope, &output);
      if (o.flow != Flow::kOk) return o;
      *last_output = output;
    }
    return {};
  }

  static std::string StepValue(const std::string& output, const std::string& status, const std::string& model) {
    std::string v = "{\"output\":" + (output.empty() ? std::string("null") : output) + ",\"status\":";
    AppendJsonString(v, status);
    v += ",\"model\":";
    AppendJsonString(v, model);
    return v + "}";
  }

  void Record(StepRecord& r, const LedgerRecord* row,
              const std::function<void(const LedgerRecord&)>& committed = nullptr) {
    r.run_id = run_id_;
    Status st = store_.PutStep(r, row);
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      store_error_ = st.message();
    } else if (row && committed) {
      committed(*row);
    }
    if (opt_.progress) opt_.progress(r);
  }

  Outcome Step(const WorkflowStep& s, const std::string& key, const std::string& parent, Scope& scope,
               std::string* output) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!store_error_.empty()) return {Flow::kFailed, "cannot checkpoint: " + store_error_};
      auto it = recorded_.find(key);
      const bool finished = it != recorded_.end() && Finished(it->second.status);
      if (!finished && opt_.stop && opt_.stop->load())
        return {Flow::kStopped, "stopped before step " + key + " (shutting down); it resumes from there"};
      if (finished) {  // done before: read it, do not run it again
        *output = it->second.output.empty() ? "null" : it->second.output;
        scope.Set("steps." + s.id, StepValue(*output, it->second.status, it->second.model));
        const std::string prefix = PrefixOf(key, s);
        for (const auto& b : s.branches) {  // a parallel step's branches are readable after it
          auto bt = recorded_.find(prefix + b.id);
          if (bt != recorded_.end())
            scope.Set("steps." + b.id, StepValue(bt->second.output.empty() ? "null" : bt->second.output,
                                                 bt->second.status, bt->second.model));
        }
        return {};
      }
    }
    StepRecord r;
    r.key = key;
    r.parent = parent;
    r.kind = StepKindName(s.kind);
    r.start_us = NowUs();
    if (!s.when.empty()) {
      auto go = Condition(s.when, scope);
      if (!go.ok() || !go.value()) {
        r.status = go.ok() ? "skipped" : "error";
        r.input = s.when;
        r.reasons = go.ok() ? "condition is false: " + s.when : "";
        r.error = go.ok() ? "" : go.status().message();
        r.output = "null";
        Record(r, nullptr);
        if (!go.ok()) return {Flow::kFailed, "step " + key + ": " + go.status().message()};
        scope.Set("steps." + s.id, StepValue("null", "skipped", ""));
        return {};
      }
    }
    Outcome o;
    switch (s.kind) {
      case StepKind::kLoop:
        o = Loop(s, key, parent, scope, output);
        break;
      case StepKind::kRepeat:
        o = Repeat(s, key, parent, scope, output);
        break;
      case StepKind::kParallel:
        o = Parallel(s, key, parent, scope, output);
        break;
      case StepKind::kApproval:
        o = Approval(s, key, parent, scope, output);
        break;
      default:
        o = Attempts(s, key, parent, scope, output, s.model);
        break;
    }
    if (o.flow != Flow::kFailed && o.flow != Flow::kRejected) return o;
    // The step failed after its attempts: on_error decides.
    const std::string why = o.error;
    StepRecord f;
    f.key = key;
    f.parent = parent;
    f.kind = StepKindName(s.kind);
    f.start_us = NowUs();
    switch (s.on_error) {
      case OnError::kSkip:
        f.status = "skipped";
        f.error = why;
        f.reasons = "on_error: skip";
        f.output = "null";
        Record(f, nullptr);
        *output = "null";
        scope.Set("steps." + s.id, StepValue("null", "skipped", ""));
        return {};
      case OnError::kEscalate: {
        if (s.kind != StepKind::kModel) break;
        Outcome e = Attempts(s, key, parent, scope, output, "llm", "escalated after: " + why);
        if (e.flow == Flow::kOk) return e;
        return {Flow::kFailed, e.error};
      }
      case OnError::kFallback: {
        WorkflowStep fb = *s.fallback;
        fb.id = s.id;  // the fallback's output is the step's
        Outcome e = Step(fb, key + ".fallback", key, scope, output);
        if (e.flow != Flow::kOk) return e;
        f.status = "ok";
        f.output = *output;
        f.error = why;
        f.reasons = "on_error: fallback answered";
        Record(f, nullptr);
        return e;
      }
      case OnError::kFail:
        break;
    }
    return o;
  }

  // One model or tool step with its retries. `model` overrides the step's (escalation); `note` is recorded.
  Outcome Attempts(const WorkflowStep& s, const std::string& key, const std::string& parent, Scope& scope,
                   std::string* output, const std::string& model, const std::string& note = "") {
    std::string error;
    for (int attempt = 1; attempt <= s.attempts; ++attempt) {
      if (attempt > 1) {
        const auto wait = std::chrono::milliseconds(static_cast<int64_t>(s.backoff_ms) << std::min(attempt - 2, 16));
        if (opt_.sleep) opt_.sleep(wait);
        else std::this_thread::sleep_for(wait);
      }
      StepRecord r;
      r.key = key;
      r.parent = parent;
      r.kind = StepKindName(s.kind);
      r.attempts = attempt;
      r.start_us = NowUs();
      r.reasons = note;
      LedgerRecord row;
      std::function<void(const LedgerRecord&)> committed;  // the model turn's on_committed
      const bool has_row = s.kind == StepKind::kModel;
      Status st = s.kind == StepKind::kModel ? CallModel(s, scope, model, r, row, attempt, committed)
                                             : CallToolStep(s, scope, r);
      r.ms = (NowUs() - r.start_us) / 1000;
      {
        std::lock_guard<std::mutex> lock(mu_);
        cost_ += r.cost_usd;
      }
      if (st.ok()) {
        r.status = "ok";
        Record(r, has_row ? &row : nullptr, committed);
        *output = r.output;
        scope.Set("steps." + s.id, StepValue(r.output, "ok", r.model));
        return {};
      }
      error = st.message();
      r.status = "error";
      r.error = error;
      Record(r, has_row ? &row : nullptr, committed);
    }
    return {Flow::kFailed, "step " + key + " failed" +
                               (s.attempts > 1 ? " after " + std::to_string(s.attempts) + " attempts" : "") + ": " +
                               error};
  }

  Status CallModel(const WorkflowStep& s, const Scope& scope, const std::string& model, StepRecord& r,
                   LedgerRecord& row, int attempt, std::function<void(const LedgerRecord&)>& committed) {
    auto prompt = Render(s.prompt, scope);
    if (!prompt.ok()) return prompt.status();
    r.input = prompt.value();
    std::string system;
    if (!s.system.empty()) {
      auto sys = Render(s.system, scope);
      if (!sys.ok()) return sys.status();
      system = sys.value();
    }
    const std::string target = opt_.resolve ? opt_.resolve(model) : model;
    std::string body;
    JsonWriter w(body);
    w.begin_object().kv("model", target).key("messages").begin_array();
    if (!system.empty()) w.begin_object().kv("role", "system").kv("content", system).end_object();
    w.begin_object().kv("role", "user").kv("content", prompt.value()).end_object().end_array();
    w.kv("max_tokens", static_cast<int64_t>(s.max_tokens)).kv("temperature", s.temperature);
    if (!s.output_schema.empty()) {
      w.key("response_format").begin_object().kv("type", "json_schema").key("json_schema").begin_object();
      w.kv("name", s.id).key("schema").raw(s.output_schema).kv("strict", true).end_object().end_object();
    }
    w.end_object();
    if (!opt_.model) return Status(Code::kInternal, "no model is available to this run");
    ModelTurn turn = opt_.model(body, std::chrono::milliseconds(s.timeout_ms));
    row = turn.row;
    committed = std::move(turn.on_committed);
    row.request_id = run_id_ + "/" + r.key + (attempt > 1 ? "#" + std::to_string(attempt) : "");
    if (row.ts_us == 0) row.ts_us = r.start_us;
    if (row.requested_model.empty()) row.requested_model = target;
    r.model = turn.model;
    r.tier = row.tier;
    std::string why = row.reasons;
    if (target != model) why = "the step asks for " + model + "; " + why;
    r.reasons = r.reasons.empty() ? why : r.reasons + "; " + why;
    r.prompt_tokens = row.prompt_tokens;
    r.completion_tokens = row.completion_tokens;
    r.cost_usd = turn.cost_usd;
    if (!turn.status.ok()) return turn.status;
    auto content = ContentOf(turn.body);
    if (!content.ok()) return content.status();
    if (s.output_schema.empty()) {
      r.output = JsonString(content.value());
      return Status::Ok();
    }
    const std::string json = JsonIn(content.value());
    Status valid = CheckJson(s.output_schema, json);
    if (!valid.ok()) {
      r.output = JsonString(content.value());
      return Status(Code::kUpstream, "the answer does not match output_schema: " + valid.message());
    }
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    r.output = parser.parse(json).get(e) ? json : simdjson::minify(e);
    return Status::Ok();
  }

  Status CallToolStep(const WorkflowStep& s, const Scope& scope, StepRecord& r) {
    r.model = s.tool;
    std::string args = "{}";
    if (s.args) {
      auto v = YamlToJson(*s.args, &scope);
      if (!v.ok()) return v.status();
      args = v.value();
    }
    r.input = args;
    Tool* tool = opt_.tools ? opt_.tools->Find(s.tool) : nullptr;
    if (!tool) return Status(Code::kNotFound, "no tool '" + s.tool + "' in this run");
    const auto timeout = s.timeout_ms ? std::chrono::milliseconds(s.timeout_ms) : opt_.default_tool_timeout;
    ToolResult result = CallTool(*tool, args, timeout);
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    r.output = parser.parse(result.content).get(e) ? JsonString(result.content) : simdjson::minify(e);
    if (result.is_error) return Status(Code::kUpstream, s.tool + ": " + result.content);
    return Status::Ok();
  }

  Outcome Approval(const WorkflowStep& s, const std::string& key, const std::string& parent, Scope& scope,
                   std::string* output) {
    StepRecord r;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = recorded_.find(key);
      if (it != recorded_.end()) r = it->second;
    }
    if (r.status == "rejected") {
      *output = r.output;
      return {Flow::kRejected, "step " + key + " was rejected" + (r.error.empty() ? "" : ": " + r.error)};
    }
    auto message = Render(s.message, scope);
    if (!message.ok()) return {Flow::kFailed, "step " + key + ": " + message.status().message()};
    r.key = key;
    r.parent = parent;
    r.kind = "approval";
    r.status = "waiting";
    r.input = message.value();
    r.output = "null";
    r.start_us = NowUs();
    Record(r, nullptr);
    return {Flow::kWaiting, "step " + key + " waits for approval: " + message.value()};
  }

  Outcome Loop(const WorkflowStep& s, const std::string& key, const std::string& parent, Scope& scope,
               std::string* output) {
    const int64_t start = NowUs();
    auto items = scope.Lookup(s.for_each);
    if (!items.ok()) return {Flow::kFailed, "step " + key + ": for_each: " + items.status().message()};
    simdjson::dom::parser parser;
    simdjson::dom::element list;
    if (parser.parse(items.value()).get(list) || !list.is_array())
      return {Flow::kFailed, "step " + key + ": for_each: " + s.for_each + " is not a list"};
    std::string all = "[";
    size_t index = 0;
    simdjson::dom::array elements;
    if (list.get_array().get(elements)) return {Flow::kFailed, "step " + key + ": for_each: not a list"};
    for (simdjson::dom::element item : elements) {
      Scope iteration = scope;
      iteration.Set(s.as, simdjson::minify(item));
      iteration.Set("index", std::to_string(index));
      const std::string prefix = key + "[" + std::to_string(index) + "].";
      std::string last = "null";
      Outcome o = Steps(s.body, prefix, key, iteration, &last);
      if (o.flow != Flow::kOk) return o;
      const std::string value = BodyValue(s, iteration, last, false);
      all += (index ? "," : "") + value;
      ++index;
    }
    all += "]";
    return Finish(s, key, parent, start, items.value().substr(0, 2000), std::move(all),
                  std::to_string(index) + " items", scope, output);
  }

  // Records a loop, repeat or parallel step that ran to its end, and makes its output readable.
  Outcome Finish(const WorkflowStep& s, const std::string& key, const std::string& parent, int64_t start,
                 std::string input, std::string value, std::string reasons, Scope& scope, std::string* output) {
    StepRecord r;
    r.key = key;
    r.parent = parent;
    r.kind = StepKindName(s.kind);
    r.status = "ok";
    r.input = std::move(input);
    r.output = value;
    r.start_us = start;
    r.ms = (NowUs() - start) / 1000;
    r.reasons = std::move(reasons);
    Record(r, nullptr);
    scope.Set("steps." + s.id, StepValue(value, "ok", ""));
    *output = std::move(value);
    return {};
  }

  // The key prefix of a step's siblings: "each[2]." for "each[2].summarize", "" at the top.
  static std::string PrefixOf(const std::string& key, const WorkflowStep& s) {
    return key.substr(0, key.size() - s.id.size());
  }

  // The body's outputs in `scope`: the last step's output when there is one step, else an object by step id.
  static std::string BodyValue(const WorkflowStep& s, const Scope& scope, const std::string& last, bool as_object) {
    if (s.body.size() == 1 && !as_object) return last;
    std::string value = "{";
    for (size_t b = 0; b < s.body.size(); ++b) {
      auto v = scope.Lookup("steps." + s.body[b].id + ".output");
      if (b) value += ",";
      AppendJsonString(value, s.body[b].id);
      value.push_back(':');
      value.append(v.ok() ? v.value() : std::string("null"));
    }
    value.push_back('}');
    return value;
  }

  // Evaluator-optimizer: the body again and again, until the condition holds or the iterations run out.
  Outcome Repeat(const WorkflowStep& s, const std::string& key, const std::string& parent, Scope& scope,
                 std::string* output) {
    const int64_t start = NowUs();
    std::string previous = "{}", last = "null", why;
    Scope iteration = scope;
    int i = 0;
    for (; i < s.max_iterations; ++i) {
      iteration = scope;
      iteration.Set("previous", previous);
      iteration.Set("iteration", std::to_string(i));
      Outcome o = Steps(s.body, key + "[" + std::to_string(i) + "].", key, iteration, &last);
      if (o.flow != Flow::kOk) return o;
      previous = BodyValue(s, iteration, last, true);
      auto done = Condition(s.until, iteration);
      if (!done.ok()) return {Flow::kFailed, "step " + key + ": until: " + done.status().message()};
      if (done.value()) {
        why.append("until held after iteration ").append(std::to_string(i + 1)).append(": ").append(s.until);
        break;
      }
    }
    if (why.empty())
      why.append("stopped after ").append(std::to_string(s.max_iterations)).append(" iterations; until never held: ").append(s.until);
    return Finish(s, key, parent, start, "", BodyValue(s, iteration, last, false), std::move(why), scope, output);
  }

  Outcome Parallel(const WorkflowStep& s, const std::string& key, const std::string& parent, Scope& scope,
                   std::string* output) {
    const int64_t start = NowUs();
    const std::string prefix = PrefixOf(key, s);
    struct Branch {
      Scope scope;
      std::string output = "null";
      Outcome outcome;
    };
    std::vector<Branch> branches(s.branches.size());
    std::vector<std::future<void>> running;
    for (size_t i = 0; i < s.branches.size(); ++i) {
      branches[i].scope = scope;
      running.push_back(std::async(std::launch::async, [&, i] {
        branches[i].outcome = Step(s.branches[i], prefix + s.branches[i].id, key, branches[i].scope, &branches[i].output);
      }));
    }
    for (auto& f : running) f.get();
    std::string all = "{";
    Outcome worst;
    for (size_t i = 0; i < branches.size(); ++i) {
      const std::string& id = s.branches[i].id;
      auto v = branches[i].scope.Lookup("steps." + id);
      if (v.ok()) scope.Set("steps." + id, v.value());
      if (i) all += ",";
      AppendJsonString(all, id);
      all += ":" + branches[i].output;
      const Outcome& o = branches[i].outcome;
      if (o.flow == Flow::kFailed || (o.flow != Flow::kOk && worst.flow == Flow::kOk)) worst = o;
    }
    all += "}";
    if (worst.flow != Flow::kOk) return worst;
    return Finish(s, key, parent, start, "", std::move(all), std::to_string(branches.size()) + " branches", scope,
                  output);
  }

  RunStore& store_;
  const Workflow& wf_;
  const std::string run_id_;
  const WorkflowRunOptions& opt_;
  std::mutex mu_;
  std::map<std::string, StepRecord> recorded_;
  std::string store_error_;
  double cost_ = 0;
};

}  // namespace

Result<std::string> StartWorkflowRun(RunStore& store, const Workflow& wf, const std::string& workflow_text,
                                     const std::string& inputs_json, const std::string& owner,
                                     const std::string& key_id) {
  simdjson::dom::parser parser;
  simdjson::dom::element given;
  if (parser.parse(inputs_json).get(given) || !given.is_object())
    return Status(Code::kInvalidArgument, "the inputs must be a JSON object");
  std::string inputs = "{";
  bool first = true;
  simdjson::dom::object fields;
  if (given.get_object().get(fields)) return Status(Code::kInvalidArgument, "the inputs must be a JSON object");
  for (auto field : fields) {
    bool declared = false;
    for (const auto& in : wf.inputs) declared = declared || in.name == field.key;
    if (!declared) {
      std::string names;
      for (const auto& in : wf.inputs) names += (names.empty() ? "" : ", ") + in.name;
      return Status(Code::kInvalidArgument, "workflow " + wf.name + " has no input '" + std::string(field.key) +
                                                "' (its inputs: " + (names.empty() ? "none" : names) + ")");
    }
  }
  for (const auto& in : wf.inputs) {
    simdjson::dom::element v;
    std::string value;
    if (!given[in.name].get(v)) {
      value = simdjson::minify(v);
      Status ok = CheckJson("{\"type\":\"" + in.type + "\"}", value);
      if (!ok.ok()) return Status(Code::kInvalidArgument, "input '" + in.name + "': " + ok.message());
    } else if (!in.default_json.empty()) {
      value = in.default_json;
    } else if (in.required) {
      return Status(Code::kInvalidArgument, "workflow " + wf.name + " needs the input '" + in.name + "'" +
                                                (in.description.empty() ? "" : " (" + in.description + ")"));
    } else {
      continue;
    }
    if (!first) inputs += ",";
    first = false;
    AppendJsonString(inputs, in.name);
    inputs += ":" + value;
  }
  inputs += "}";
  RunRecord run;
  run.id = NewRunId();
  run.kind = "workflow";
  run.name = wf.name;
  run.spec = wf.file + "\n" + workflow_text;  // the definition it started with, and where it came from
  run.input = inputs;
  run.status = "running";
  run.owner = owner;
  run.key_id = key_id;
  Status st = store.CreateRun(run);
  if (!st.ok()) return st;
  return run.id;
}

WorkflowOutcome RunWorkflow(RunStore& store, const Workflow& wf, const std::string& run_id,
                            const WorkflowRunOptions& opt) {
  return Runner(store, wf, run_id, opt).Run();
}

Status DecideApproval(RunStore& store, const std::string& run_id, const std::string& step, bool approved,
                      const std::string& by, const std::string& note) {
  auto steps = store.Steps(run_id);
  if (!steps.ok()) return steps.status();
  const StepRecord* found = nullptr;
  std::string waiting;
  for (const auto& s : steps.value()) {
    if (s.kind != "approval") continue;
    if (s.status == "waiting") waiting += (waiting.empty() ? "" : ", ") + s.key;
    const size_t dot = s.key.rfind('.');
    if (s.key == step || (dot != std::string::npos && s.key.substr(dot + 1) == step) || (step.empty() && s.status == "waiting"))
      found = &s;
  }
  if (!found || found->status != "waiting")
    return Status(Code::kNotFound, "run " + run_id + " has no approval step '" + step + "' waiting" +
                                       (waiting.empty() ? " (none is waiting)" : " (waiting: " + waiting + ")"));
  StepRecord r = *found;
  r.status = approved ? "approved" : "rejected";
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("approved", approved).kv("by", by).kv("note", note).end_object();
  r.output = out;
  r.error = approved ? "" : note;
  r.reasons = std::string(approved ? "approved" : "rejected") + (by.empty() ? "" : " by " + by);
  r.ms = (NowUs() - r.start_us) / 1000;
  return store.PutStep(r);
}

}  // namespace tandem::agency
