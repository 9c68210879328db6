#include "engine/chat/chat_template.h"

#include <string_view>

namespace tandem::engine {
namespace {

// A Jinja string literal's text: its \n escapes are newlines.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// SmolLM2's and Qwen2.5's templates insert a default system prompt when the conversation has none
// (`if ... messages[0]['role'] != 'system'` then the literal; or `== 'system'` ... `else` then the literal); take
// it from the template text. The literal may carry the system turn's markers, which are dropped.
std::string ChatMLDefaultSystem(const std::string& jinja) {
  size_t from = jinja.find("messages[0]['role'] != 'system'");
  if (from == std::string::npos) {
    const size_t eq = jinja.find("messages[0]['role'] == 'system'");
    if (eq == std::string::npos) return "";
    from = jinja.find("else", eq);
    if (from == std::string::npos) return "";
  }
  const size_t open = jinja.find("{{", from);
  if (open == std::string::npos) return "";
  const size_t q = jinja.find('\'', open);
  const size_t close = q == std::string::npos ? q : jinja.find('\'', q + 1);
  if (close == std::string::npos || jinja.find("}}", open) < q) return "";
  std::string text = Unescape(std::string_view(jinja).substr(q + 1, close - q - 1));
  const std::string head = "<|im_start|>system\n";
  if (text.rfind(head, 0) == 0) text = text.substr(head.size());
  const size_t end = text.find("<|im_end|>");
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string ToolsInstruction(const std::string& tools_json) {
  return "You may call one or more functions to assist with the user query.\n\n"
         "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
         tools_json +
         "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
         "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
         "<args-json-object>}\n</tool_call>";
}

}  // namespace

ChatTemplate ChatTemplate::Detect(const std::string& jinja, Arch arch) {
  ChatTemplate t;
  if (jinja.find("<|im_start|>") != std::string::npos) {
    t.kind = TemplateKind::kChatML;
    t.default_system = ChatMLDefaultSystem(jinja);
  } else if (jinja.find("<start_of_turn>") != std::string::npos) {
    t.kind = TemplateKind::kGemma;
  } else if (jinja.find("<|start_header_id|>") != std::string::npos) {
    t.kind = TemplateKind::kLlama3;
  } else if (jinja.find("[INST]") != std::string::npos) {
    t.kind = TemplateKind::kMistral;
  } else if (jinja.find("<|assistant|>") != std::string::npos && jinja.find("<|end|>") != std::string::npos) {
    t.kind = TemplateKind::kPhi3;
  } else {
    t.kind = arch == Arch::kGemma3 || arch == Arch::kGemma2 ? TemplateKind::kGemma : arch == Arch::kPhi3 ? TemplateKind::kPhi3
                                                                              : TemplateKind::kChatML;
  }
  switch (t.kind) {
    case TemplateKind::kChatML: t.stops = {"<|im_end|>"}; break;
    case TemplateKind::kGemma: t.stops = {"<end_of_turn>"}; break;
    case TemplateKind::kLlama3: t.stops = {"<|eot_id|>", "<|eom_id|>"}; break;
    case TemplateKind::kMistral: t.stops = {"</s>"}; break;
    case TemplateKind::kPhi3: t.stops = {"<|end|>", "<|endoftext|>"}; break;
  }
  return t;
}

const char* ChatTemplate::name() const {
  switch (kind) {
    case TemplateKind::kChatML: return "chatml";
    case TemplateKind::kGemma: return "gemma";
    case TemplateKind::kLlama3: return "llama3";
    case TemplateKind::kMistral: return "mistral";
    case TemplateKind::kPhi3: return "phi3";
  }
  return "?";
}

std::string ChatTemplate::Render(const std::vector<ChatTurn>& turns, const std::string& tools_json) const {
  std::string out;
  const bool has_system = !turns.empty() && turns[0].role == "system";
  const bool tools = !tools_json.empty();
  switch (kind) {
    case TemplateKind::kChatML: {
      std::string system = has_system ? turns[0].content : default_system;
      if (tools) system += (system.empty() ? "" : "\n\n") + ToolsInstruction(tools_json);
      if (!system.empty() || has_system) out += "<|im_start|>system\n" + system + "<|im_end|>\n";
      for (size_t i = has_system ? 1 : 0; i < turns.size(); ++i) {
        const ChatTurn& m = turns[i];
        if (m.role == "tool") {
          out += "<|im_start|>user\n<tool_response>\n" + m.content + "\n</tool_response><|im_end|>\n";
        } else {
          out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
        }
      }
      out += "<|im_start|>assistant\n";
      return out;
    }
    case TemplateKind::kGemma: {
      // Gemma has no system role: the system text opens the first user turn.
      std::string prefix = has_system ? turns[0].content + "\n\n" : "";
      if (tools) prefix += ToolsInstruction(tools_json) + "\n\n";
      bool first_user = true;
      for (size_t i = has_system ? 1 : 0; i < turns.size(); ++i) {
        const ChatTurn& m = turns[i];
        const std::string role = m.role == "assistant" ? "model" : "user";
        std::string content = m.role == "tool" ? "<tool_response>\n" + m.content + "\n</tool_response>" : m.content;
        if (role == "user" && first_user) {
          content = prefix + content;
          first_user = false;
        }
        out += "<start_of_turn>" + role + "\n" + content + "<end_of_turn>\n";
      }
      out += "<start_of_turn>model\n";
      return out;
    }
    case TemplateKind::kLlama3: {
      // <|begin_of_text|> is the BOS token, which the tokenizer adds.
      std::string system = has_system ? turns[0].content : "";
      if (tools) system = "Environment: ipython\n\n" + system + (system.empty() ? "" : "\n\n") + ToolsInstruction(tools_json);
      if (!system.empty()) out += "<|start_header_id|>system<|end_header_id|>\n\n" + system + "<|eot_id|>";
      for (size_t i = has_system ? 1 : 0; i < turns.size(); ++i) {
        const ChatTurn& m = turns[i];
        const std::string role = m.role == "tool" ? "ipython" : m.role;
        out += "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      }
      out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    }
    case TemplateKind::kPhi3: {
      std::string system = has_system ? turns[0].content : "";
      if (tools) system += (system.empty() ? "" : "\n\n") + ToolsInstruction(tools_json);
      if (!system.empty()) out += "<|system|>\n" + system + "<|end|>\n";
      for (size_t i = has_system ? 1 : 0; i < turns.size(); ++i) {
        const ChatTurn& m = turns[i];
        if (m.role == "tool") {
          out += "<|user|>\n<tool_response>\n" + m.content + "\n</tool_response><|end|>\n";
        } else {
          out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
        }
      }
      out += "<|assistant|>\n";
      return out;
    }
    case TemplateKind::kMistral: {
      // <s> is the BOS token, which the tokenizer adds.
      if (tools) out += "[AVAILABLE_TOOLS]" + tools_json + "[/AVAILABLE_TOOLS]";
      std::string pending_system = has_system ? turns[0].content + "\n\n" : "";
      for (size_t i = has_system ? 1 : 0; i < turns.size(); ++i) {
        const ChatTurn& m = turns[i];
        if (m.role == "user") {
          out += "[INST] " + pending_system + m.content + "[/INST]";
          pending_system.clear();
        } else if (m.role == "tool") {
          out += "[TOOL_RESULTS]" + m.content + "[/TOOL_RESULTS]";
        } else {
          out += m.content + "</s>";
        }
      }
      return out;
    }
  }
  return out;
}

}  // namespace tandem::engine
