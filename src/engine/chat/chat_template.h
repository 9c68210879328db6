// Chat templates: turn a conversation into the exact prompt text a chat model was trained on.
//
// GGUF files carry a Jinja template (tokenizer.chat_template); Tandem recognises the template families it ships
// renderers for by their markers and renders them natively: ChatML (SmolLM2, Qwen), Gemma, Llama 3, Mistral and Phi-3 (<|user|> ... <|end|>).
// Tool definitions are rendered where the family has a place for them (ChatML/Qwen's <tools> block in the system
// message, Llama 3's "Environment: ipython" system section, Mistral's [AVAILABLE_TOOLS], Phi-3's system turn);
// Gemma has none, so
// tools are described in the first user turn. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "engine/model/config.h"

namespace tandem::engine {

enum class TemplateKind { kChatML, kGemma, kLlama3, kMistral, kPhi3 };

struct ChatTurn {
  std::string role;  // system, user, assistant, tool
  std::string content;
};

struct ChatTemplate {
  TemplateKind kind = TemplateKind::kChatML;
  std::string default_system;     // inserted when the conversation has no system message (SmolLM2 does this)
  std::vector<std::string> stops;  // end-of-turn texts that end generation

  // Picks the family from the GGUF template text (falling back on the architecture when there is none).
  static ChatTemplate Detect(const std::string& jinja, Arch arch);
  // The prompt, ending with the opening of the assistant's turn. `tools_json` is the request's "tools" array
  // (JSON text) or empty.
  std::string Render(const std::vector<ChatTurn>& turns, const std::string& tools_json = "") const;
  const char* name() const;
};

}  // namespace tandem::engine
