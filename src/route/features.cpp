#include "route/features.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/model_info.h"

namespace tandem {
namespace {

std::string Lower(std::string_view s, size_t limit) {
  std::string out(s.substr(0, limit));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int CountAny(const std::string& text, std::initializer_list<std::string_view> needles) {
  int n = 0;
  for (auto needle : needles) n += text.find(needle) != std::string::npos;
  return n;
}

}  // namespace

std::string ClassifyTask(std::string_view prompt) {
  // Only the first 8 KiB decide: enough to see the instruction, bounded cost on huge prompts.
  std::string t = Lower(prompt, 8192);
  int code = 0, math = 0;
  if (t.find("```") != std::string::npos) code += 3;
  code += CountAny(t, {"def ",       "function ",   "class ",    "#include",     "import ",
                       "return ",    "console.log", "printf(",   "stack trace",  "traceback",
                       "segfault",   "compile",     "python",    "javascript",   "typescript",
                       "c++",        "rust ",       "golang",    "java ",        "sql",
                       "regex",      "bug",         "refactor",  "unit test",    "write a function",
                       "write code", "implement ",  "algorithm", "api endpoint", "json schema"});
  int symbols = 0;
  for (char c : t) symbols += (c == '{' || c == '}' || c == ';' || c == '(' || c == ')' || c == '=');
  if (symbols > 12 && symbols * 20 > static_cast<int>(t.size())) code += 2;

  math += CountAny(t, {"solve",       "equation",   "integral",    "derivative", "prove",    "theorem",
                       "probability", "calculate",  "compute the", "how many",   "sum of",   "percent",
                       "matrix",      "polynomial", "factor",      "algebra",    "geometry", "lemma",
                       "x^2",         "sqrt",       "\\frac",      "modulo",     "prime"});
  int digits = 0, ops = 0;
  for (char c : t) {
    digits += (c >= '0' && c <= '9');
    ops += (c == '+' || c == '*' || c == '/' || c == '^' || c == '=');
  }
  if (digits >= 4 && ops >= 2) math += 2;

  int translation = CountAny(t, {"translate", "translation", "in french", "in german", "in spanish",
                                 "in japanese", "in chinese", "into english", "to english", "into french",
                                 "into spanish", "into german"}) *
                    2;
  int summary = CountAny(t, {"summarize", "summarise", "summary", "tl;dr", "tldr", "key points", "in brief",
                             "condense", "shorten"}) *
                2;
  int extraction = CountAny(t, {"extract", "list all", "pull out", "find all", "parse the", "return json",
                                "as json", "fields", "entities", "named entities"}) *
                   2;
  const std::array<std::pair<const char*, int>, 5> scores = {{{"code", code},
                                                              {"math", math},
                                                              {"translation", translation},
                                                              {"summary", summary},
                                                              {"extraction", extraction}}};
  auto best = std::max_element(scores.begin(), scores.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  if (best->second >= 2) return best->first;
  if (t.size() < 160 && CountAny(t, {"hi", "hello", "hey", "thanks", "thank you", "how are you",
                                     "good morning", "what's up", "bye"}) > 0) {
    return "chitchat";
  }
  if (best->second == 1 && t.size() < 2000) return best->first;
  return "general";
}

Features ComputeFeatures(const ChatRequest& req, const PiiDetector& pii, std::string_view header_tier) {
  Features f;
  size_t bytes = 0;
  for (const auto& m : req.messages) bytes += m.text.size() + 4;  // ~4 tokens of framing per message
  f.prompt_tokens = EstimateTokens(bytes);
  f.turns = req.user_turns();
  f.messages = static_cast<int>(req.messages.size());
  f.tools = req.tool_choice_none ? 0 : req.tools;
  f.task = ClassifyTask(req.last_user_text());
  f.pii = pii.kinds_in(req.all_text());
  f.header_tier = std::string(header_tier);
  return f;
}

}  // namespace tandem
