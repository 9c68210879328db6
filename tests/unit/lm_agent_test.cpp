#include "agency/lm_agent.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "agency/builtin_tools.h"
#include "core/json_writer.h"

namespace tandem::agency {
namespace {

std::string Calls(const std::vector<std::pair<std::string, std::string>>& calls) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("choices").begin_array().begin_object().key("message").begin_object();
  w.kv("role", "assistant").key("content").null().key("tool_calls").begin_array();
  int i = 0;
  for (const auto& [name, args] : calls) {
    char id[16];
    std::snprintf(id, sizeof id, "c%d", i++);
    w.begin_object().kv("id", id).kv("type", "function").key("function").begin_object();
    w.kv("name", name).kv("arguments", args).end_object().end_object();
  }
  w.end_array().end_object().end_object().end_array().end_object();
  return out;
}

std::string Text(const std::string& text) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("choices").begin_array().begin_object().key("message").begin_object();
  w.kv("role", "assistant").kv("content", text).end_object().end_object().end_array().end_object();
  return out;
}

// A scripted model: answers in turn, records what it was asked.
struct Script {
  std::vector<std::string> answers;
  std::vector<std::string> requests, tiers;
  double cost = 0.001;
  ModelFn fn() {
    return [this](const std::string& body, const std::string& tier) {
      requests.push_back(body);
      tiers.push_back(tier);
      const size_t i = std::min(requests.size() - 1, answers.size() - 1);
      return ModelTurn{Status::Ok(), answers[i], tier.empty() ? "slm" : "llm", cost, {}, {}};
    };
  }
};

ToolSet Calculator() {
  ToolSet t;
  t.Add(MakeCalculatorTool());
  return t;
}

TEST(LmAgent, UsesToolsThenAnswers) {
  Script m;
  m.answers = {Calls({{"calculator", R"({"expression":"6*7"})"}}), Calls({{"final_answer", R"({"answer":"42"})"}})};
  AgentResult r = RunAgent("What is 6 times 7?", Calculator(), m.fn(), AgentOptions{});
  EXPECT_EQ(r.status, AgentStatus::kDone) << r.reason;
  EXPECT_EQ(r.answer, "42");
  ASSERT_EQ(r.steps.size(), 2u);
  ASSERT_EQ(r.steps[0].results.size(), 1u);
  EXPECT_EQ(r.steps[0].results[0].content, "42");
  EXPECT_NEAR(r.cost_usd, 0.002, 1e-12);
  // The second request carries the call and its result, and offers final_answer beside the tools.
  EXPECT_NE(m.requests[1].find(R"("role":"tool","content":"42","tool_call_id":"call_1_0")"), std::string::npos)
      << m.requests[1];
  EXPECT_NE(m.requests[0].find(R"("name":"final_answer")"), std::string::npos);
}

TEST(LmAgent, ErrorsGoBackToTheModel) {
  Script m;
  m.answers = {Calls({{"calculator", R"({"expr":"1"})"}}), Calls({{"weather", "{}"}}), Text("It is 1.")};
  AgentResult r = RunAgent("?", Calculator(), m.fn(), AgentOptions{});
  EXPECT_EQ(r.status, AgentStatus::kDone);
  EXPECT_EQ(r.answer, "It is 1.");  // a plain text answer ends the run
  EXPECT_TRUE(r.steps[0].results[0].is_error);
  EXPECT_NE(m.requests[1].find("ERROR: invalid arguments for calculator"), std::string::npos) << m.requests[1];
  EXPECT_NE(m.requests[2].find("no tool named 'weather'; the tools are: calculator, final_answer"), std::string::npos);
}

TEST(LmAgent, ParallelCallsAllRun) {
  Script m;
  m.answers = {Calls({{"calculator", R"({"expression":"1+1"})"}, {"calculator", R"({"expression":"2*3"})"}}),
               Calls({{"final_answer", R"({"answer":"2 and 6"})"}})};
  AgentResult r = RunAgent("two sums", Calculator(), m.fn(), AgentOptions{});
  ASSERT_EQ(r.status, AgentStatus::kDone);
  ASSERT_EQ(r.steps[0].results.size(), 2u);
  EXPECT_EQ(r.steps[0].results[0].content, "2");
  EXPECT_EQ(r.steps[0].results[1].content, "6");
}

TEST(LmAgent, StopsOnRepeatsStepsAndCost) {
  Script loop;
  loop.answers = {Calls({{"calculator", R"({"expression":"1+1"})"}})};  // forever the same call
  AgentResult rep = RunAgent("loop", Calculator(), loop.fn(), AgentOptions{});
  EXPECT_EQ(rep.status, AgentStatus::kRepeated);
  EXPECT_EQ(rep.steps.size(), 3u);  // the first call, one allowed repeat, then the stop
  EXPECT_NE(rep.reason.find("repeated"), std::string::npos);

  Script wander;
  for (int i = 0; i < 20; ++i) {
    char args[64];
    std::snprintf(args, sizeof args, R"({"expression":"%d"})", i);
    wander.answers.push_back(Calls({{"calculator", args}}));
  }
  AgentOptions few;
  few.max_steps = 4;
  AgentResult steps = RunAgent("wander", Calculator(), wander.fn(), few);
  EXPECT_EQ(steps.status, AgentStatus::kMaxSteps);
  EXPECT_EQ(steps.steps.size(), 4u);

  Script pricey = wander;
  pricey.requests.clear();
  pricey.cost = 0.01;
  AgentOptions capped;
  capped.max_cost_usd = 0.025;
  AgentResult cost = RunAgent("wander", Calculator(), pricey.fn(), capped);
  EXPECT_EQ(cost.status, AgentStatus::kMaxCost);
  EXPECT_EQ(cost.steps.size(), 3u);
  EXPECT_STREQ(AgentStatusName(cost.status), "max_cost");
}

TEST(LmAgent, EscalatesAfterInvalidCallsAndChecksTheAnswer) {
  Script m;
  m.answers = {Calls({{"nope", "{}"}}), Calls({{"calculator", "{not json"}}),
               Calls({{"final_answer", R"({"answer":"maybe"})"}}), Calls({{"final_answer", R"({"answer":"42"})"}})};
  AgentOptions opt;
  opt.final_check = [](const std::string& a) { return a == "42" ? "" : "give a number"; };
  AgentResult r = RunAgent("?", Calculator(), m.fn(), opt);
  EXPECT_EQ(r.status, AgentStatus::kDone);
  EXPECT_EQ(r.answer, "42");
  ASSERT_EQ(m.tiers.size(), 4u);
  EXPECT_EQ(m.tiers[0], "");
  EXPECT_EQ(m.tiers[1], "");
  EXPECT_EQ(m.tiers[2], "llm");  // two steps without a valid call: escalate
  EXPECT_EQ(r.steps[2].model, "llm");
  EXPECT_NE(m.requests[3].find("the answer was not accepted: give a number"), std::string::npos);
}

TEST(LmAgent, ModelFailureEndsTheRun) {
  ModelFn broken = [](const std::string&, const std::string&) {
    return ModelTurn{Status(Code::kUnavailable, "upstream down"), "", "slm", 0, {}, {}};
  };
  AgentResult r = RunAgent("?", Calculator(), broken, AgentOptions{});
  EXPECT_EQ(r.status, AgentStatus::kModelError);
  EXPECT_NE(r.reason.find("upstream down"), std::string::npos);
}

}  // namespace
}  // namespace tandem::agency
