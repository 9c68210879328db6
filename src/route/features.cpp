#include "route/features.h"

#include <re2/set.h>

#include <algorithm>
#include <cctype>

#include "core/model_info.h"

namespace tandem {
namespace {

enum Category { kCode, kMath, kTranslation, kSummary, kExtraction, kChitchat, kCategories };

struct Needle {
  const char* text;  // matched case-insensitively, as a literal
  Category category;
  int weight;
};

constexpr Needle kNeedles[] = {
    {"```", kCode, 3},
    {"def ", kCode, 1},
    {"function ", kCode, 1},
    {"class ", kCode, 1},
    {"#include", kCode, 1},
    {"import ", kCode, 1},
    {"return ", kCode, 1},
    {"console.log", kCode, 1},
    {"printf(", kCode, 1},
    {"stack trace", kCode, 1},
    {"traceback", kCode, 1},
    {"segfault", kCode, 1},
    {"compile", kCode, 1},
    {"python", kCode, 1},
    {"javascript", kCode, 1},
    {"typescript", kCode, 1},
    {"c++", kCode, 1},
    {"rust ", kCode, 1},
    {"golang", kCode, 1},
    {"java ", kCode, 1},
    {"sql", kCode, 1},
    {"regex", kCode, 1},
    {"bug", kCode, 1},
    {"refactor", kCode, 1},
    {"unit test", kCode, 1},
    {"write a function", kCode, 1},
    {"write code", kCode, 1},
    {"implement ", kCode, 1},
    {"algorithm", kCode, 1},
    {"api endpoint", kCode, 1},
    {"json schema", kCode, 1},
    {"solve", kMath, 1},
    {"equation", kMath, 1},
    {"integral", kMath, 1},
    {"derivative", kMath, 1},
    {"prove", kMath, 1},
    {"theorem", kMath, 1},
    {"probability", kMath, 1},
    {"calculate", kMath, 1},
    {"compute the", kMath, 1},
    {"how many", kMath, 1},
    {"sum of", kMath, 1},
    {"percent", kMath, 1},
    {"matrix", kMath, 1},
    {"polynomial", kMath, 1},
    {"factor", kMath, 1},
    {"algebra", kMath, 1},
    {"geometry", kMath, 1},
    {"lemma", kMath, 1},
    {"x^2", kMath, 1},
    {"sqrt", kMath, 1},
    {"\\frac", kMath, 1},
    {"modulo", kMath, 1},
    {"prime", kMath, 1},
    {"translate", kTranslation, 2},
    {"translation", kTranslation, 2},
    {"in french", kTranslation, 2},
    {"in german", kTranslation, 2},
    {"in spanish", kTranslation, 2},
    {"in japanese", kTranslation, 2},
    {"in chinese", kTranslation, 2},
    {"into english", kTranslation, 2},
    {"to english", kTranslation, 2},
    {"into french", kTranslation, 2},
    {"into spanish", kTranslation, 2},
    {"into german", kTranslation, 2},
    {"summarize", kSummary, 2},
    {"summarise", kSummary, 2},
    {"summary", kSummary, 2},
    {"tl;dr", kSummary, 2},
    {"tldr", kSummary, 2},
    {"key points", kSummary, 2},
    {"in brief", kSummary, 2},
    {"condense", kSummary, 2},
    {"shorten", kSummary, 2},
    {"extract", kExtraction, 2},
    {"list all", kExtraction, 2},
    {"pull out", kExtraction, 2},
    {"find all", kExtraction, 2},
    {"parse the", kExtraction, 2},
    {"return json", kExtraction, 2},
    {"as json", kExtraction, 2},
    {"fields", kExtraction, 2},
    {"entities", kExtraction, 2},
    {"named entities", kExtraction, 2},
    {"hi", kChitchat, 1},
    {"hello", kChitchat, 1},
    {"hey", kChitchat, 1},
    {"thanks", kChitchat, 1},
    {"thank you", kChitchat, 1},
    {"how are you", kChitchat, 1},
    {"good morning", kChitchat, 1},
    {"what's up", kChitchat, 1},
    {"bye", kChitchat, 1},
};

// All needles in one RE2 set: a single linear pass over the prompt tells which of them occur.
const RE2::Set& NeedleSet() {
  static const RE2::Set* set = [] {
    RE2::Options opt;
    opt.set_literal(true);
    opt.set_case_sensitive(false);
    opt.set_log_errors(false);
    auto* s = new RE2::Set(opt, RE2::UNANCHORED);
    for (const auto& n : kNeedles) s->Add(n.text, nullptr);
    s->Compile();
    return s;
  }();
  return *set;
}

}  // namespace

std::string ClassifyTask(std::string_view prompt) {
  // Only the first 4 KiB decide: enough to see the instruction, bounded cost on huge prompts.
  std::string_view t = prompt.substr(0, 4096);
  int score[kCategories] = {};
  std::vector<int> hits;
  NeedleSet().Match(re2::StringPiece(t.data(), t.size()), &hits);
  for (int h : hits) score[kNeedles[h].category] += kNeedles[h].weight;
  int symbols = 0, digits = 0, ops = 0;
  for (char c : t) {
    symbols += (c == '{' || c == '}' || c == ';' || c == '(' || c == ')' || c == '=');
    digits += (c >= '0' && c <= '9');
    ops += (c == '+' || c == '*' || c == '/' || c == '^' || c == '=');
  }
  if (symbols > 12 && symbols * 20 > static_cast<int>(t.size())) score[kCode] += 2;
  if (digits >= 4 && ops >= 2) score[kMath] += 2;
  static const char* kNames[] = {"code", "math", "translation", "summary", "extraction"};
  int best = 0;
  for (int c = 1; c < kChitchat; ++c) {
    if (score[c] > score[best]) best = c;
  }
  if (score[best] >= 2) return kNames[best];
  if (t.size() < 160 && score[kChitchat] > 0) return "chitchat";
  if (score[best] == 1 && t.size() < 2000) return kNames[best];
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
  // Message by message (no concatenated copy); a kind found in any message counts once.
  for (const auto& m : req.messages) {
    for (auto& kind : pii.kinds_in(m.text)) {
      if (std::find(f.pii.begin(), f.pii.end(), kind) == f.pii.end()) f.pii.push_back(std::move(kind));
    }
  }
  f.header_tier = std::string(header_tier);
  return f;
}

}  // namespace tandem
