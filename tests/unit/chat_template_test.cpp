// Chat templates: each family is recognised from its GGUF template text (or, with none, from the architecture)
// and renders a conversation as that family's prompt, with its end-of-turn stops.
#include "engine/chat/chat_template.h"

#include <gtest/gtest.h>

namespace tandem::engine {
namespace {

const std::vector<ChatTurn> kTurns = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Why?"}};

TEST(ChatTemplateTest, DetectsEachFamilyFromItsMarkers) {
  EXPECT_EQ(ChatTemplate::Detect("{{'<|im_start|>' + role}}", Arch::kLlama).kind, TemplateKind::kChatML);
  EXPECT_EQ(ChatTemplate::Detect("<start_of_turn>{{role}}", Arch::kLlama).kind, TemplateKind::kGemma);
  EXPECT_EQ(ChatTemplate::Detect("<|start_header_id|>", Arch::kLlama).kind, TemplateKind::kLlama3);
  EXPECT_EQ(ChatTemplate::Detect("[INST] {{m}} [/INST]", Arch::kLlama).kind, TemplateKind::kMistral);
  EXPECT_EQ(ChatTemplate::Detect("{{'<|user|>\n' + m + '<|end|>\n'}}{{'<|assistant|>\n'}}", Arch::kLlama).kind,
            TemplateKind::kPhi3);
  // No template: the architecture decides.
  EXPECT_EQ(ChatTemplate::Detect("", Arch::kGemma2).kind, TemplateKind::kGemma);
  EXPECT_EQ(ChatTemplate::Detect("", Arch::kGemma3).kind, TemplateKind::kGemma);
  EXPECT_EQ(ChatTemplate::Detect("", Arch::kPhi3).kind, TemplateKind::kPhi3);
  EXPECT_EQ(ChatTemplate::Detect("", Arch::kQwen3).kind, TemplateKind::kChatML);
}

TEST(ChatTemplateTest, Phi3RendersTurnsWithEndMarkersAndStopsAtThem) {
  const ChatTemplate t = ChatTemplate::Detect("", Arch::kPhi3);
  EXPECT_EQ(t.Render(kTurns, ""),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nWhy?<|end|>\n"
            "<|assistant|>\n");
  EXPECT_EQ(t.stops, (std::vector<std::string>{"<|end|>", "<|endoftext|>"}));
  EXPECT_STREQ(t.name(), "phi3");
  const std::string with_tools = t.Render({{"user", "Weather?"}}, R"([{"name":"get_weather"}])");
  EXPECT_EQ(with_tools.rfind("<|system|>\n", 0), 0u);
  EXPECT_NE(with_tools.find("<tools>\n[{\"name\":\"get_weather\"}]\n</tools>"), std::string::npos);
  EXPECT_NE(t.Render({{"user", "Q"}, {"tool", "42"}}, "").find("<|user|>\n<tool_response>\n42\n</tool_response><|end|>"),
            std::string::npos);
}

TEST(ChatTemplateTest, TakesTheDefaultSystemPromptFromTheTemplate) {
  // SmolLM2's form (a real newline in the GGUF text) and Qwen2.5's (== 'system' ... else, escaped newlines).
  const std::string smol =
      "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
      "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}";
  EXPECT_EQ(ChatTemplate::Detect(smol, Arch::kLlama).default_system,
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  const std::string qwen =
      "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
      "        {{- messages[0]['content'] }}\n    {%- else %}\n"
      "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}";
  const ChatTemplate t = ChatTemplate::Detect(qwen + "<|im_start|>", Arch::kQwen2);
  EXPECT_EQ(t.default_system, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_EQ(t.Render({{"user", "Hi"}}, ""),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(ChatTemplate::Detect("{{'<|im_start|>' + m}}", Arch::kQwen2).default_system, "");
}

TEST(ChatTemplateTest, ChatMLAndGemmaRenderTheirOwnTurns) {
  EXPECT_EQ(ChatTemplate::Detect("", Arch::kQwen3).Render({{"user", "Hi"}}, ""),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // Gemma has no system role: the system text opens the first user turn.
  EXPECT_EQ(ChatTemplate::Detect("", Arch::kGemma2).Render({{"system", "S"}, {"user", "Hi"}}, ""),
            "<start_of_turn>user\nS\n\nHi<end_of_turn>\n<start_of_turn>model\n");
}

}  // namespace
}  // namespace tandem::engine
