// Code Agency: templates and conditions, workflow validation (file:line), and the runner's semantics — order,
// conditions, loops, parallel branches, retries, on_error, output schemas, approvals, and resuming from the store
// without repeating a finished step.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <tuple>

#include <sqlite3.h>
#include <unistd.h>

#include <ctime>

#include <yaml-cpp/yaml.h>

#include "agency/builtin_tools.h"
#include "agency/template.h"
#include "agency/trace.h"
#include "agency/workflow.h"
#include "agency/workflow_runner.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

namespace fs = std::filesystem;

TEST(Template, RendersPathsAndKeepsTypesForWholeValues) {
  Scope s;
  s.Set("inputs", R"({"ticket":"charged twice","n":3,"tags":["a","b"]})");
  s.Set("steps.classify", R"({"output":{"priority":"high","items":[{"q":2}]},"status":"ok","model":"m"})");
  EXPECT_EQ(Render("T: {{ inputs.ticket }} ({{inputs.n}}) {{ inputs.tags }}", s).value(), "T: charged twice (3) [\"a\",\"b\"]");
  EXPECT_EQ(Render("{{ steps.classify.output.items[0].q }}", s).value(), "2");
  EXPECT_EQ(Value("{{ inputs.n }}", s).value(), "3");
  EXPECT_EQ(Value("n={{ inputs.n }}", s).value(), "\"n=3\"");
  auto missing = Render("{{ steps.other.output }}", s);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("step 'other' has not run"), std::string::npos);
  auto no_field = Render("{{ inputs.nope }}", s);
  ASSERT_FALSE(no_field.ok());
  EXPECT_NE(no_field.status().message().find("has no 'nope'"), std::string::npos);
  EXPECT_FALSE(Render("{{ inputs.ticket", s).ok());
  // default(): for a missing or null value, never for one that is there.
  s.Set("previous", "{}");
  EXPECT_EQ(Render("{{ previous.review.note | default('none') }}", s).value(), "none");
  EXPECT_EQ(Value("{{ previous.n | default(3) }}", s).value(), "3");
  EXPECT_EQ(Render("{{ inputs.ticket | default('x') }}", s).value(), "charged twice");
  EXPECT_FALSE(Render("{{ inputs.ticket | upper }}", s).ok());
}

TEST(Template, ConditionsCompareCombineAndTestTruth) {
  Scope s;
  s.Set("inputs", R"({"p":"high","n":3,"tags":["vip"],"empty":"","none":null})");
  auto yes = [&](const char* e) {
    auto r = Condition(e, s);
    EXPECT_TRUE(r.ok()) << e << ": " << r.status().message();
    return r.ok() && r.value();
  };
  EXPECT_TRUE(yes("inputs.p == 'high'"));
  EXPECT_FALSE(yes("inputs.p != \"high\""));
  EXPECT_TRUE(yes("inputs.n >= 3 and inputs.n < 4"));
  EXPECT_TRUE(yes("'vip' in inputs.tags"));
  EXPECT_TRUE(yes("inputs.p contains 'ig'"));
  EXPECT_TRUE(yes("not inputs.empty or inputs.none"));
  EXPECT_FALSE(yes("inputs.none"));
  EXPECT_TRUE(yes("(inputs.p == 'low' or inputs.n == 3) and not false"));
  EXPECT_FALSE(Condition("inputs.p ==", s).ok());
  EXPECT_FALSE(Condition("inputs.p < 3", s).ok());  // cannot order a text and a number
  auto paths = Paths("steps.a.output.x == 'y' and inputs.z", true);
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(paths.value(), (std::vector<std::string>{"steps.a.output.x", "inputs.z"}));
}

const char* kBroken = R"(name: broken
inputs: {ticket: string}
steps:
  - id: a
    prompt: "{{ steps.b.output }} {{ inputs.missing }}"
    colour: blue
  - id: b
    tool: nope
  - id: a
    prompt: hi
    on_error: sometimes
  - id: c
    prompt: hi
    model: gpt-9
  - id: d
    prompt: hi
    on_error: fallback
  - id: e
    approval: ok?
    output_schema: {type: object}
)";

TEST(Workflow, YamlValuesBecomeJsonOfTheRightType) {
  auto json = [](const char* yaml) { return YamlToJson(YAML::Load(yaml)).value(); };
  EXPECT_EQ(json("{a: 1, b: 2.5, c: true, d: null, e: text, f: '7'}"),
            R"({"a":1,"b":2.5,"c":true,"d":null,"e":"text","f":"7"})");
  EXPECT_EQ(json("[007, +1, .5, -3, 1e3]"), R"(["007","+1",".5",-3,1e3])");  // only JSON numbers are numbers
  Scope s;
  s.Set("inputs", R"({"n":3,"t":"x"})");
  EXPECT_EQ(YamlToJson(YAML::Load("{whole: '{{ inputs.n }}', text: 'n={{ inputs.n }}'}"), &s).value(),
            R"({"whole":3,"text":"n=3"})");
}

TEST(Workflow, ValidationListsEveryProblemWithFileAndLine) {
  WorkflowEnv env;
  env.model_known = [](const std::string& m) { return m == "gpt-4o"; };
  env.tool_names = [](const std::vector<std::string>&, std::string*) { return std::vector<std::string>{"calculator"}; };
  auto wf = ParseWorkflow(kBroken, "broken.yaml", env);
  ASSERT_FALSE(wf.ok());
  const std::string m = wf.status().message();
  for (const char* want : {
           "broken.yaml:5: step 'a'.prompt: 'steps.b.output' reads step 'b', which has not run at this point",
           "broken.yaml:5: step 'a'.prompt: 'inputs.missing' reads input 'missing', which the workflow does not declare",
           "broken.yaml:6: step 'a': unknown key 'colour'",
           "broken.yaml:8: step 'b'.tool: no tool 'nope' (this workflow's tools: calculator)",
           "broken.yaml:9: step id 'a' is used twice",
           "broken.yaml:11: step 'a'.on_error: 'sometimes' is not one of fail, skip, escalate, fallback",
           "broken.yaml:14: step 'c'.model: no model 'gpt-9' is configured",
           "broken.yaml:15: step 'd': on_error: fallback needs a fallback step",
           "broken.yaml:20: step 'e': output_schema belongs to a model step",
       })
    EXPECT_NE(m.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << m;
  auto yaml = ParseWorkflow("name: x\nsteps: [\n", "bad.yaml");
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.status().message().rfind("bad.yaml:", 0), 0u) << yaml.status().message();
}

// A model that answers from a function of the request, counting calls per prompt.
struct FakeModel {
  std::mutex mu;
  std::map<std::string, int> calls;  // prompt -> times asked
  std::vector<std::string> models;   // the "model" of each request
  std::function<std::string(const std::string& prompt, int nth)> answer;
  std::atomic<int> concurrent{0}, max_concurrent{0};

  ModelTurn operator()(const std::string& body, std::chrono::milliseconds) {
    const std::string marker = "\"role\":\"user\",\"content\":\"";
    std::string prompt = body.substr(body.find(marker) + marker.size());
    prompt = prompt.substr(0, prompt.find('"'));
    const size_t m = body.find("\"model\":\"") + 9;
    int nth;
    {
      std::lock_guard<std::mutex> lock(mu);
      nth = ++calls[prompt];
      models.push_back(body.substr(m, body.find('"', m) - m));
    }
    const int now = ++concurrent;
    int seen = max_concurrent.load();
    while (now > seen && !max_concurrent.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --concurrent;
    ModelTurn t;
    const std::string text = answer(prompt, nth);
    if (text == "FAIL") {
      t.status = Status(Code::kUpstream, "upstream said 500");
      return t;
    }
    JsonWriter w(t.body);
    w.begin_object().key("choices").begin_array().begin_object().key("message").begin_object();
    w.kv("role", "assistant").kv("content", text).end_object().end_object().end_array().end_object();
    t.model = models.back() == "auto" ? "small" : models.back();
    t.cost_usd = 0.001;
    t.row.tier = "slm";
    t.row.reasons = "routed";
    t.row.prompt_tokens = 10;
    t.row.completion_tokens = 5;
    return t;
  }
};

class Runs : public testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::path(testing::TempDir()) / ("runs-" + std::to_string(counter_++) + ".db");
    fs::remove(path_);
    auto s = RunStore::Open(path_.string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s.value());
    tools_.Add(MakeCalculatorTool());
    opt_.model = [this](const std::string& b, std::chrono::milliseconds t) { return model_(b, t); };
    opt_.resolve = [](const std::string& m) { return m == "llm" ? "big" : m == "slm" ? "small" : m; };
    opt_.tools = &tools_;
    opt_.sleep = [this](std::chrono::milliseconds d) { waits_.push_back(d.count()); };
  }
  Workflow Parse(const std::string& yaml) {
    auto wf = ParseWorkflow(yaml, "t.yaml");
    EXPECT_TRUE(wf.ok()) << wf.status().message();
    return wf.ok() ? wf.value() : Workflow{};
  }
  std::string Start(const Workflow& wf, const std::string& yaml, const std::string& inputs) {
    auto id = StartWorkflowRun(*store_, wf, yaml, inputs);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? id.value() : "";
  }
  std::map<std::string, StepRecord> StepsOf(const std::string& id) {
    std::map<std::string, StepRecord> m;
    auto steps = store_->Steps(id);
    if (!steps.ok()) return m;
    for (auto& s : steps.value()) m[s.key] = s;
    return m;
  }

  static inline int counter_ = 0;
  fs::path path_;
  std::unique_ptr<RunStore> store_;
  ToolSet tools_;
  FakeModel model_;
  WorkflowRunOptions opt_;
  std::vector<int64_t> waits_;
};

const char* kFlow = R"(name: flow
inputs:
  ticket: string
  qty: {type: integer, default: 2}
steps:
  - id: classify
    prompt: "classify {{ inputs.ticket }}"
    output_schema:
      type: object
      properties: {priority: {type: string, enum: [low, high]}, items: {type: array}}
      required: [priority, items]
  - id: cost
    tool: calculator
    args: {expression: "{{ inputs.qty }} * 21"}
  - id: urgent
    if: steps.classify.output.priority == 'high'
    prompt: "escalate {{ inputs.ticket }}"
    model: llm
  - id: calm
    if: steps.classify.output.priority == 'low'
    prompt: "calm {{ inputs.ticket }}"
  - id: each
    for_each: steps.classify.output.items
    steps:
      - id: describe
        prompt: "describe {{ item.name }} #{{ index }}"
  - id: both
    parallel:
      - {id: left, prompt: "left {{ steps.cost.output }}"}
      - {id: right, prompt: "right {{ steps.cost.output }}"}
output:
  priority: "{{ steps.classify.output.priority }}"
  cost: "{{ steps.cost.output }}"
  described: "{{ steps.each.output }}"
  right: "{{ steps.right.output }}"
)";

TEST_F(Runs, StepsRunInOrderWithConditionsLoopsAndParallelBranches) {
  model_.answer = [](const std::string& p, int) -> std::string {
    if (p.rfind("classify", 0) == 0) return R"({"priority":"high","items":[{"name":"a"},{"name":"b"}]})";
    return "said " + p;
  };
  Workflow wf = Parse(kFlow);
  const std::string id = Start(wf, kFlow, R"({"ticket":"t1"})");
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  ASSERT_EQ(o.status, "done") << o.error;
  EXPECT_EQ(o.output, R"({"priority":"high","cost":42,"described":["said describe a #0","said describe b #1"],"right":"said right 42"})");
  auto steps = StepsOf(id);
  EXPECT_EQ(steps["calm"].status, "skipped");
  EXPECT_EQ(steps["urgent"].model, "big");  // model: llm resolved to the LLM tier's model
  EXPECT_EQ(steps["each[1].describe"].parent, "each");
  EXPECT_EQ(steps["left"].parent, "both");
  EXPECT_EQ(steps["cost"].kind, "tool");
  EXPECT_EQ(model_.max_concurrent.load(), 2);  // the branches ran at the same time
  EXPECT_NEAR(o.cost_usd, 0.001 * 6, 1e-12);
  EXPECT_EQ(store_->GetRun(id).value().status, "done");
  // Resuming a finished run calls nothing again.
  const size_t before = model_.models.size();
  EXPECT_EQ(RunWorkflow(*store_, wf, id, opt_).status, "done");
  EXPECT_EQ(model_.models.size(), before);
}

TEST_F(Runs, ListingFiltersByStatusAndByTheKeyThatStartedTheRun) {
  int64_t t = 0;
  for (const auto& [id, status, key] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"r1", "done", "alice"}, {"r2", "waiting_approval", "alice"}, {"r3", "done", "bob"}, {"r4", "done", ""}}) {
    RunRecord r;
    r.id = id;
    r.kind = "workflow";
    r.name = "flow";
    r.status = status;
    r.key_id = key;
    r.created_us = ++t;
    ASSERT_TRUE(store_->CreateRun(r).ok());
  }
  auto ids = [&](const std::string& status, const std::string* key) {
    std::vector<std::string> out;
    auto runs = store_->ListRuns(status, 100, key);
    EXPECT_TRUE(runs.ok());
    if (runs.ok())
      for (const auto& r : runs.value()) out.push_back(r.id);
    return out;
  };
  const std::string alice = "alice", bob = "bob", nobody = "carol";
  EXPECT_EQ(ids("", nullptr), (std::vector<std::string>{"r4", "r3", "r2", "r1"}));  // newest first
  EXPECT_EQ(ids("done", nullptr), (std::vector<std::string>{"r4", "r3", "r1"}));
  EXPECT_EQ(ids("", &alice), (std::vector<std::string>{"r2", "r1"}));
  EXPECT_EQ(ids("done", &alice), (std::vector<std::string>{"r1"}));
  EXPECT_EQ(ids("", &bob), (std::vector<std::string>{"r3"}));
  EXPECT_TRUE(ids("", &nobody).empty());
}

TEST_F(Runs, InputsAreCheckedBeforeARunStarts) {
  Workflow wf = Parse(kFlow);
  auto missing = StartWorkflowRun(*store_, wf, kFlow, "{}");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("needs the input 'ticket'"), std::string::npos);
  auto typed = StartWorkflowRun(*store_, wf, kFlow, R"({"ticket":"x","qty":"two"})");
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("input 'qty'"), std::string::npos);
  auto unknown = StartWorkflowRun(*store_, wf, kFlow, R"({"ticket":"x","colour":1})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no input 'colour'"), std::string::npos);
}

TEST_F(Runs, AResumedRunDoesNotRepeatFinishedSteps) {
  // The first attempt dies at step c (as a killed process would leave it: a, b recorded, c not).
  const char* yaml = R"(name: chain
steps:
  - {id: a, prompt: "a"}
  - {id: b, prompt: "b {{ steps.a.output }}"}
  - {id: c, prompt: "c {{ steps.b.output }}"}
  - {id: d, prompt: "d {{ steps.c.output }}"}
)";
  bool crash = true;
  model_.answer = [&](const std::string& p, int) -> std::string {
    if (p[0] == 'c' && crash) return "FAIL";
    return std::string(1, p[0]);
  };
  Workflow wf = Parse(yaml);
  const std::string id = Start(wf, yaml, "{}");
  EXPECT_EQ(RunWorkflow(*store_, wf, id, opt_).status, "failed");
  crash = false;
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  ASSERT_EQ(o.status, "done") << o.error;
  EXPECT_EQ(o.output, "\"d\"");
  EXPECT_EQ(model_.calls["a"], 1);
  EXPECT_EQ(model_.calls["b a"], 1);
  EXPECT_EQ(model_.calls["c b"], 2);  // failed once, then ran on resume
  EXPECT_EQ(model_.calls["d c"], 1);
}

TEST_F(Runs, AStopFlagEndsTheRunBetweenStepsForALaterResume) {
  const char* yaml = "name: three\nsteps:\n  - {id: a, prompt: a}\n  - {id: b, prompt: b}\n  - {id: c, prompt: c}\n";
  std::atomic<bool> stop{false};
  model_.answer = [&](const std::string& p, int) -> std::string {
    if (p == "a") stop = true;  // a shutdown begins while step a runs
    return p;
  };
  opt_.stop = &stop;
  Workflow wf = Parse(yaml);
  const std::string id = Start(wf, yaml, "{}");
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  EXPECT_EQ(o.status, "running");
  EXPECT_NE(o.error.find("stopped before step b"), std::string::npos) << o.error;
  EXPECT_EQ(store_->GetRun(id).value().status, "running");
  EXPECT_EQ(model_.calls["b"], 0);
  stop = false;
  o = RunWorkflow(*store_, wf, id, opt_);
  EXPECT_EQ(o.status, "done");
  EXPECT_EQ(model_.calls["a"], 1);
  EXPECT_EQ(model_.calls["c"], 1);
}

TEST_F(Runs, RepeatRevisesUntilTheReviewerApproves) {
  const char* yaml = R"(name: refine
steps:
  - id: loop
    repeat: {max: 4, until: steps.review.output.ok}
    steps:
      - id: draft
        prompt: "draft after {{ previous.review.note | default('nothing') }} #{{ iteration }}"
      - id: review
        prompt: "review {{ steps.draft.output }}"
        output_schema: {type: object, properties: {ok: {type: boolean}, note: {type: string}}, required: [ok, note]}
output: "{{ steps.loop.output.draft }}"
)";
  int reviews = 0;
  model_.answer = [&](const std::string& p, int) -> std::string {
    if (p.rfind("review", 0) == 0) return ++reviews < 3 ? R"({"ok":false,"note":"shorter"})" : R"({"ok":true,"note":"fine"})";
    return "v" + p.substr(p.size() - 1);
  };
  Workflow wf = Parse(yaml);
  const std::string id = Start(wf, yaml, "{}");
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  ASSERT_EQ(o.status, "done") << o.error;
  EXPECT_EQ(o.output, "\"v2\"");  // approved in the third round
  EXPECT_EQ(model_.calls["draft after nothing #0"], 1);
  EXPECT_EQ(model_.calls["draft after shorter #1"], 1);  // the feedback of round 1 went into round 2
  auto steps = StepsOf(id);
  EXPECT_EQ(steps["loop[2].review"].parent, "loop");
  EXPECT_EQ(steps.count("loop[3].draft"), 0u);
  EXPECT_NE(steps["loop"].reasons.find("until held after iteration 3"), std::string::npos);
  // The cap holds when the reviewer never approves.
  reviews = -100;
  const std::string capped = Start(wf, yaml, "{}");
  o = RunWorkflow(*store_, wf, capped, opt_);
  ASSERT_EQ(o.status, "done");
  EXPECT_NE(StepsOf(capped)["loop"].reasons.find("stopped after 4 iterations"), std::string::npos);
  // `until` may only read the body's steps (and what the repeat step sees).
  auto bad = ParseWorkflow("name: x\nsteps:\n  - id: l\n    repeat: {max: 2, until: steps.nope.output}\n    steps: [{id: a, prompt: a}]\n", "x.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("x.yaml:4: step 'l'.repeat.until: 'steps.nope.output' names no step"), std::string::npos)
      << bad.status().message();
}

TEST_F(Runs, RetriesBackOffThenOnErrorDecides) {
  const char* yaml = R"(name: errors
steps:
  - id: flaky
    prompt: flaky
    retry: {attempts: 3, backoff_ms: 100}
  - id: skipped
    prompt: broken
    on_error: skip
  - id: escalated
    prompt: shaky
    output_schema: {type: object, properties: {ok: {type: boolean}}, required: [ok]}
    on_error: escalate
  - id: rescued
    prompt: broken
    on_error: fallback
    fallback: {tool: calculator, args: {expression: "1+1"}}
output: ["{{ steps.flaky.output }}", "{{ steps.skipped.output }}", "{{ steps.escalated.output }}", "{{ steps.rescued.output }}"]
)";
  model_.answer = [](const std::string& p, int nth) -> std::string {
    if (p == "flaky") return nth < 3 ? "FAIL" : "third time";
    if (p == "broken") return "FAIL";
    if (p == "shaky") return nth == 1 ? "not json" : R"({"ok":true})";
    return "?";
  };
  Workflow wf = Parse(yaml);
  const std::string id = Start(wf, yaml, "{}");
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  ASSERT_EQ(o.status, "done") << o.error;
  EXPECT_EQ(o.output, R"(["third time",null,{"ok":true},2])");
  EXPECT_EQ(waits_, (std::vector<int64_t>{100, 200}));  // doubling backoff between the three attempts
  auto steps = StepsOf(id);
  EXPECT_EQ(steps["flaky"].attempts, 3);
  EXPECT_EQ(steps["skipped"].status, "skipped");
  EXPECT_NE(steps["skipped"].error.find("upstream said 500"), std::string::npos);
  EXPECT_EQ(steps["escalated"].model, "big");
  EXPECT_NE(steps["escalated"].reasons.find("escalated after"), std::string::npos);
  EXPECT_EQ(steps["rescued.fallback"].kind, "tool");
  EXPECT_EQ(model_.models[model_.models.size() - 2], "big");  // the schema failure went to the LLM
}

TEST_F(Runs, AnOutputThatBreaksTheSchemaFailsTheStep) {
  const char* yaml = R"(name: strict
steps:
  - id: extract
    prompt: x
    output_schema: {type: object, properties: {n: {type: integer}}, required: [n]}
)";
  model_.answer = [](const std::string&, int) -> std::string { return R"({"n":"seven"})"; };
  Workflow wf = Parse(yaml);
  const std::string id = Start(wf, yaml, "{}");
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  EXPECT_EQ(o.status, "failed");
  EXPECT_NE(o.error.find("does not match output_schema"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("$.n"), std::string::npos) << o.error;
}

TEST_F(Runs, ApprovalPausesTheRunUntilDecided) {
  const char* yaml = R"(name: gated
steps:
  - {id: draft, prompt: draft}
  - {id: ok, approval: "send {{ steps.draft.output }}?"}
  - {id: send, prompt: "send {{ steps.draft.output }}"}
)";
  model_.answer = [](const std::string& p, int) -> std::string { return p + "!"; };
  Workflow wf = Parse(yaml);
  const std::string id = Start(wf, yaml, "{}");
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  ASSERT_EQ(o.status, "waiting_approval");
  EXPECT_NE(o.error.find("send draft!?"), std::string::npos);
  EXPECT_EQ(store_->GetRun(id).value().status, "waiting_approval");
  // Still waiting: running again asks nothing new.
  EXPECT_EQ(RunWorkflow(*store_, wf, id, opt_).status, "waiting_approval");
  EXPECT_EQ(model_.calls["draft"], 1);
  EXPECT_FALSE(DecideApproval(*store_, id, "draft", true, "bob", "").ok());  // not an approval step
  ASSERT_TRUE(DecideApproval(*store_, id, "ok", true, "bob", "fine").ok());
  o = RunWorkflow(*store_, wf, id, opt_);
  ASSERT_EQ(o.status, "done") << o.error;
  EXPECT_EQ(o.output, "\"send draft!!\"");
  EXPECT_EQ(model_.calls["draft"], 1);
  EXPECT_EQ(StepsOf(id)["ok"].reasons, "approved by bob");

  const std::string rejected = Start(wf, yaml, "{}");
  EXPECT_EQ(RunWorkflow(*store_, wf, rejected, opt_).status, "waiting_approval");
  ASSERT_TRUE(DecideApproval(*store_, rejected, "", false, "carol", "too rude").ok());
  o = RunWorkflow(*store_, wf, rejected, opt_);
  EXPECT_EQ(o.status, "rejected");
  EXPECT_NE(o.error.find("too rude"), std::string::npos);
}

TEST_F(Runs, OneRunIsNeverExecutedByTwoProcessesAtOnce) {
  const char* yaml = "name: one\nsteps:\n  - {id: a, prompt: a}\n";
  model_.answer = [](const std::string& p, int) -> std::string { return p; };
  Workflow wf = Parse(yaml);
  const std::string id = Start(wf, yaml, "{}");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto hold = [&](const std::string& lease, int64_t seconds) {
    const std::string sql = "UPDATE runs SET lease = '" + lease + "', lease_until_us = " +
                            std::to_string((int64_t)std::time(nullptr) * 1000000 + seconds * 1000000) +
                            " WHERE id = '" + id + "'";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  };
  hold("elsewhere:4242", 60);  // another machine holds it
  WorkflowOutcome o = RunWorkflow(*store_, wf, id, opt_);
  EXPECT_EQ(o.status, "busy");
  EXPECT_NE(o.error.find("is being run by elsewhere:4242"), std::string::npos) << o.error;
  EXPECT_EQ(model_.calls["a"], 0);
  EXPECT_EQ(store_->GetRun(id).value().status, "running");  // untouched
  hold("elsewhere:4242", -1);  // its claim expired
  EXPECT_EQ(RunWorkflow(*store_, wf, id, opt_).status, "done");
  // A claim by a process of this host that is gone (SIGKILLed) is void at once.
  const std::string id2 = Start(wf, yaml, "{}");
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const std::string sql = std::string("UPDATE runs SET lease = '") + host + ":999999999', lease_until_us = " +
                          std::to_string((int64_t)std::time(nullptr) * 1000000 + 60000000) + " WHERE id = '" + id2 + "'";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(RunWorkflow(*store_, wf, id2, opt_).status, "done");
  // In one process, a second runner of a run in progress is refused.
  const std::string id3 = Start(wf, yaml, "{}");
  ASSERT_TRUE(store_->Claim(id3).ok());
  EXPECT_EQ(RunWorkflow(*store_, wf, id3, opt_).status, "busy");
  store_->Release(id3);
  EXPECT_EQ(RunWorkflow(*store_, wf, id3, opt_).status, "done");
  sqlite3_close(db);
}

TEST_F(Runs, TraceShowsTheTreeAndExportsOpenTelemetry) {
  model_.answer = [](const std::string& p, int) -> std::string {
    if (p.rfind("classify", 0) == 0) return R"({"priority":"low","items":[{"name":"a"}]})";
    return "ok";
  };
  Workflow wf = Parse(kFlow);
  const std::string id = Start(wf, kFlow, R"({"ticket":"t"})");
  ASSERT_EQ(RunWorkflow(*store_, wf, id, opt_).status, "done");
  RunRecord run = store_->GetRun(id).value();
  auto steps = store_->Steps(id).value();
  const std::string text = TraceText(run, steps);
  EXPECT_NE(text.find("workflow flow " + id + ": done"), std::string::npos) << text;
  EXPECT_NE(text.find("\n    each[0].describe"), std::string::npos) << text;  // indented under its loop
  EXPECT_NE(text.find("why: condition is false: steps.classify.output.priority == 'high'"), std::string::npos) << text;
  const std::string otel = OtelJson(run, steps);
  EXPECT_NE(otel.find(R"("name":"invoke_workflow flow")"), std::string::npos);
  EXPECT_NE(otel.find(R"({"key":"gen_ai.usage.input_tokens","value":{"intValue":"10"}})"), std::string::npos) << otel;
  EXPECT_NE(otel.find(R"("name":"execute_tool calculator")"), std::string::npos);
  // Every span belongs to the run's trace, and ids are stable.
  EXPECT_EQ(otel, OtelJson(run, steps));
}

}  // namespace
}  // namespace tandem::agency
