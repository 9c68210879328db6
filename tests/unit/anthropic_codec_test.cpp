#include "providers/anthropic_codec.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(AnthropicCodec, TranslatesARequestWithSystemToolsAndToolResults) {
  auto r = OpenAiToAnthropicRequest(R"({"model":"x","messages":[
      {"role":"system","content":"Be terse."},
      {"role":"user","content":"weather in Paris?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
         "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"18C"},
      {"role":"user","content":"and tomorrow?"}],
    "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather",
       "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
    "tool_choice":"required","max_tokens":50,"temperature":1.5,"stop":"END","user":"u"})",
                                    "claude-x", true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(
      r.value(),
      R"({"model":"claude-x","max_tokens":50,"system":"Be terse.","messages":[)"
      R"({"role":"user","content":[{"type":"text","text":"weather in Paris?"}]},)"
      R"({"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}}]},)"
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"18C"},)"
      R"({"type":"text","text":"and tomorrow?"}]}],)"
      R"("temperature":1,"stop_sequences":["END"],)"
      R"("tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],)"
      R"("tool_choice":{"type":"any"},"metadata":{"user_id":"u"},"stream":true})");
}

TEST(AnthropicCodec, TranslatesAnAnswerWithToolUse) {
  Usage u;
  auto r = AnthropicToOpenAiResponse(R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
      "content":[{"type":"text","text":"Let me check."},
                 {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
      "stop_reason":"tool_use","usage":{"input_tokens":12,"output_tokens":7}})",
                                     u, 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(
      r.value(),
      R"({"id":"chatcmpl-msg_1","object":"chat.completion","created":1000,"model":"claude-x","choices":[)"
      R"({"index":0,"message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"toolu_1",)"
      R"("type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
      R"("finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}})");
  EXPECT_EQ(u.prompt_tokens, 12);
  EXPECT_EQ(u.completion_tokens, 7);
}

TEST(AnthropicCodec, TranslatesStreamingEvents) {
  AnthropicStreamTranslator tr(5);
  std::vector<std::string> out;
  auto feed = [&](const char* ev, const char* data) { ASSERT_TRUE(tr.feed(ev, data, out).ok()); };
  feed("message_start",
       R"({"type":"message_start","message":{"id":"m1","model":"c","usage":{"input_tokens":9}}})");
  feed("content_block_start",
       R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  feed("content_block_delta",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})");
  feed("ping", R"({"type":"ping"})");
  feed(
      "content_block_start",
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}})");
  feed(
      "content_block_delta",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})");
  feed("message_delta",
       R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":4}})");
  feed("message_stop", R"({"type":"message_stop"})");
  ASSERT_EQ(out.size(), 5u);
  EXPECT_NE(out[0].find(R"("delta":{"role":"assistant","content":""})"), std::string::npos);
  EXPECT_NE(out[1].find(R"("delta":{"content":"Hi"})"), std::string::npos);
  EXPECT_NE(
      out[2].find(
          R"("tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":""}}])"),
      std::string::npos);
  EXPECT_NE(out[3].find(R"("function":{"arguments":"{\"a\":"})"), std::string::npos);
  EXPECT_NE(out[4].find(R"("finish_reason":"tool_calls")"), std::string::npos);
  EXPECT_TRUE(tr.finished());
  EXPECT_EQ(tr.usage().prompt_tokens, 9);
  EXPECT_EQ(tr.usage().completion_tokens, 4);
  EXPECT_NE(tr.usage_chunk().find(R"("total_tokens":13)"), std::string::npos);
}

TEST(AnthropicCodec, StreamErrorEventBecomesAStatus) {
  AnthropicStreamTranslator tr(5);
  std::vector<std::string> out;
  Status s =
      tr.feed("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", out);
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("Overloaded"), std::string::npos);
}

}  // namespace
}  // namespace tandem
