#include "gateway/cascade.h"
#include "gateway/shadow.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tandem {
namespace {

std::vector<std::string> Draft() {
  return {
      R"({"id":"c1","object":"chat.completion.chunk","created":7,"model":"slm","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"logprobs":{"content":[{"token":"Hel","logprob":-0.1,"bytes":null,"top_logprobs":[]}]},"finish_reason":null}]})",
      R"({"id":"c1","object":"chat.completion.chunk","created":7,"model":"slm","choices":[{"index":0,"delta":{"content":"lo"},"logprobs":{"content":[{"token":"l","logprob":-0.2,"bytes":null,"top_logprobs":[]},{"token":"o","logprob":-0.9,"bytes":null,"top_logprobs":[]}]},"finish_reason":null}]})",
      R"({"id":"c1","object":"chat.completion.chunk","created":7,"model":"slm","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})",
      R"({"id":"c1","object":"chat.completion.chunk","created":7,"model":"slm","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})",
  };
}

TEST(Cascade, ConfidenceFromTokenLogprobs) {
  Confidence mean = MeasureConfidence(Draft(), "mean");
  EXPECT_TRUE(mean.has_logprobs);
  EXPECT_EQ(mean.tokens, 3);
  EXPECT_NEAR(mean.value, std::exp(-1.2 / 3), 1e-12);
  EXPECT_NEAR(MeasureConfidence(Draft(), "min").value, std::exp(-0.9), 1e-12);
  std::vector<std::string> none = {R"({"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null}]})"};
  EXPECT_FALSE(MeasureConfidence(none, "mean").has_logprobs);
  EXPECT_TRUE(MeasureConfidence(none, "mean").signals.empty());
  // The signals a calibrated router reads, as `tandem outcomes` computes them (AnswerSignals).
  EXPECT_NEAR(mean.signals.at("first_prob"), std::exp(-0.1), 1e-12);
  EXPECT_NEAR(mean.signals.at("first_margin"), std::exp(-0.1), 1e-12);  // no alternatives: the probability
  EXPECT_NEAR(mean.signals.at("mean_logprob"), -0.4, 1e-12);
  EXPECT_NEAR(mean.signals.at("min_logprob"), -0.9, 1e-12);
  EXPECT_DOUBLE_EQ(mean.signals.at("answer_tokens"), 3);
  std::vector<std::string> alts = {
      R"({"choices":[{"index":0,"delta":{"content":"B"},"logprobs":{"content":[{"token":"B","logprob":-0.5,)"
      R"("top_logprobs":[{"token":"B","logprob":-0.5},{"token":"A","logprob":-1.5}]}]}}]})"};
  EXPECT_NEAR(MeasureConfidence(alts, "mean").signals.at("first_margin"), std::exp(-0.5) - std::exp(-1.5), 1e-12);
}

TEST(Cascade, AssemblesOneCompletionBody) {
  const std::string body = AssembleCompletion(Draft(), false);
  EXPECT_NE(body.find(R"("object":"chat.completion")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("content":"Hello")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("logprobs":null)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("finish_reason":"stop")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8})"), std::string::npos);
  const std::string with = AssembleCompletion(Draft(), true);
  EXPECT_NE(with.find(R"("token":"o","logprob":-0.9)"), std::string::npos) << with;
}

TEST(Cascade, AssemblesStreamedToolCalls) {
  std::vector<std::string> chunks = {
      R"({"id":"t","model":"slm","created":1,"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})",
      R"({"id":"t","model":"slm","created":1,"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]})",
      R"({"id":"t","model":"slm","created":1,"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":"tool_calls"}]})",
  };
  const std::string body = AssembleCompletion(chunks, false);
  EXPECT_NE(body.find(R"("content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}])"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find(R"("finish_reason":"tool_calls")"), std::string::npos);
}

TEST(Cascade, ReplaysChunksAsTheClientAskedForThem) {
  auto chunks = Draft();
  EXPECT_EQ(ReplayChunk(chunks[0], true, true), chunks[0]);
  const std::string plain = ReplayChunk(chunks[1], false, false);
  EXPECT_NE(plain.find(R"("logprobs":null)"), std::string::npos) << plain;
  EXPECT_NE(plain.find(R"("delta":{"content":"lo"})"), std::string::npos) << plain;
  EXPECT_EQ(ReplayChunk(chunks[3], false, false), "");          // usage the client did not ask for
  EXPECT_EQ(ReplayChunk(chunks[3], false, true), ReplayChunk(chunks[3], true, true));
}

TEST(Shadow, VerdictsAndTheJudgesPrompt) {
  EXPECT_EQ(ParseVerdict("Yes."), 1);
  EXPECT_EQ(ParseVerdict("  yes, it is"), 1);
  EXPECT_EQ(ParseVerdict("No"), 0);
  EXPECT_EQ(ParseVerdict("**Incorrect**"), 0);
  EXPECT_EQ(ParseVerdict("perhaps"), -1);
  EXPECT_EQ(ParseVerdict(""), -1);
  EXPECT_EQ(ParseVerdict("nope"), -1);  // a word, not a prefix
  auto req = ParseChatRequest(JudgeRequestBody("judge", "What is 2+2?", "5 \"quoted\""));
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_EQ(req->model, "judge");
  ASSERT_EQ(req->messages.size(), 2u);
  EXPECT_NE(req->messages[1].text.find("What is 2+2?"), std::string::npos);
  EXPECT_NE(req->messages[1].text.find("5 \"quoted\""), std::string::npos);
  EXPECT_EQ(*req->max_tokens, 4);
}

TEST(Shadow, NeverSamplesWhatPrivacyKeepsLocal) {
  ShadowConfig on;
  on.enabled = true;
  on.sample = 1.0;
  Decision d;
  EXPECT_TRUE(ShadowSampled(on, d));
  d.local_only = true;
  EXPECT_FALSE(ShadowSampled(on, d));
  d.local_only = false;
  on.sample = 0;
  EXPECT_FALSE(ShadowSampled(on, d));
  ShadowConfig off;
  off.sample = 1.0;
  EXPECT_FALSE(ShadowSampled(off, d));
}

}  // namespace
}  // namespace tandem
