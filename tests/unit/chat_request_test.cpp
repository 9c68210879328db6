#include "core/chat_request.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

std::string ErrorOf(const std::string& body) {
  auto r = ParseChatRequest(body);
  EXPECT_FALSE(r.ok()) << body;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

TEST(ChatRequest, ParsesTheFieldsRoutingNeeds) {
  auto r = ParseChatRequest(R"({"model":"auto","stream":true,"stream_options":{"include_usage":true},
    "messages":[{"role":"system","content":"be brief"},
                {"role":"user","content":[{"type":"text","text":"hello"},{"type":"text","text":"world"}]},
                {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
                  "function":{"name":"f","arguments":"{}"}}]},
                {"role":"tool","tool_call_id":"c1","content":"42"},
                {"role":"user","content":"thanks"}],
    "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
    "max_completion_tokens":100,"temperature":0.2,"user":"u1","seed":7})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->model, "auto");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  ASSERT_EQ(r->messages.size(), 5u);
  EXPECT_EQ(r->messages[1].text, "hello\nworld");
  EXPECT_EQ(r->messages[2].tool_calls, 1);
  EXPECT_EQ(r->tools, 1);
  EXPECT_EQ(*r->max_tokens, 100);
  EXPECT_EQ(r->user, "u1");
  EXPECT_EQ(r->last_user_text(), "thanks");
  EXPECT_EQ(r->user_turns(), 2);
}

// What the privacy scan reads beside the messages' text: every other string an upstream would receive, and
// neither the media payloads nor the fixed vocabularies (roles, part types, the model).
TEST(ChatRequest, CollectsEveryOtherStringForThePrivacyScan) {
  auto r = ParseChatRequest(R"({"model":"gpt-x","messages":[
      {"role":"user","name":"Ann","content":[{"type":"text","text":"glance"},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,QUtJQQ==","detail":"high"}}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"done"}],
    "tools":[{"type":"function","function":{"name":"lookup","description":"finds things"}}],
    "user":"u1","metadata":{"k":"v"},"stop":["END"]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::string& t = r->other_text;
  for (const char* want : {"Ann", "lookup", "{\"q\":\"x\"}", "c1", "finds things", "u1", "k\nv", "END"})
    EXPECT_NE(t.find(want), std::string::npos) << want << " in " << t;
  for (const char* absent : {"data:image", "QUtJQQ", "high", "gpt-x", "assistant", "user\n", "glance", "done"})
    EXPECT_EQ(t.find(absent), std::string::npos) << absent << " in " << t;
  EXPECT_TRUE(r->messages[0].has_media);
  // A media part's own text is kept: an image's URL (not a data: URI's payload) and a file's name.
  auto media = ParseChatRequest(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"https://cdn.example.org/a.png?owner=jane@example.com"}},
      {"type":"file","file":{"file_data":"JVBERi0x","filename":"jane-doe-passport.pdf"}},
      {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]})");
  ASSERT_TRUE(media.ok()) << media.status().message();
  for (const char* want : {"owner=jane@example.com", "jane-doe-passport.pdf"})
    EXPECT_NE(media->other_text.find(want), std::string::npos) << want << " in " << media->other_text;
  for (const char* absent : {"JVBER", "UklGR", "wav"})
    EXPECT_EQ(media->other_text.find(absent), std::string::npos) << absent << " in " << media->other_text;
}

TEST(ChatRequest, NamesTheOffendingField) {
  EXPECT_NE(ErrorOf("{not json").find("malformed JSON"), std::string::npos);
  EXPECT_NE(ErrorOf("[]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"messages":[{"role":"user","content":"x"}]})").find("model"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":"m"})").find("messages"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":"m","messages":[]})").find("at least one"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":"m","messages":[{"role":"robot","content":"x"}]})").find("messages[0].role"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":"m","messages":[{"role":"user","content":"x"},{"role":"user"}]})")
                .find("messages[1].content"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})").find("tool_call_id"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":5})")
                .find("temperature"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})")
                .find("max_tokens"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})")
          .find("tools[0].function"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})").find("stream"),
      std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model":7,"messages":[{"role":"user","content":"x"}]})").find("model"),
            std::string::npos);
}

TEST(ChatRequest, UpstreamBodyKeepsEveryFieldAndRewritesTheModel) {
  auto r = ParseChatRequest(R"({"model":"auto","messages":[{"role":"user","content":"hi \"there\""}],
    "response_format":{"type":"json_object"},"metadata":{"k":"v"},"x_vendor":[1,2]})");
  ASSERT_TRUE(r.ok());
  std::string body = BuildOpenAiUpstreamBody(r.value(), "gpt-4o");
  EXPECT_EQ(body, R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi \"there\""}],)"
                  R"("response_format":{"type":"json_object"},"metadata":{"k":"v"},"x_vendor":[1,2]})");
}

TEST(ChatRequest, StreamingUpstreamBodyAsksForUsage) {
  auto r = ParseChatRequest(R"({"model":"auto","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(r.ok());
  std::string body = BuildOpenAiUpstreamBody(r.value(), "m");
  EXPECT_NE(body.find(R"("stream_options":{"include_usage":true})"), std::string::npos);
  EXPECT_FALSE(r->include_usage);  // the client did not ask: its usage chunk will be dropped
}

}  // namespace
}  // namespace tandem
