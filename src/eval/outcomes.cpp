#include "eval/outcomes.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/json_writer.h"
#include "core/read_file.h"
#include "eval/csv.h"
#include "eval/dataset.h"
#include "route/choices.h"

namespace tandem::eval {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t Words(std::string_view s) {
  size_t n = 0;
  bool in = false;
  for (char c : s) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A number as written -> its canonical text ("1,234.50" -> "1234.5"); "" if `s` is not one.
std::string CanonicalNumber(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ',' && c != '$' && c != '+') out += c;
  if (out.empty()) return "";
  size_t i = out[0] == '-' ? 1 : 0;
  bool digit = false, dot = false;
  for (size_t j = i; j < out.size(); ++j) {
    if (IsDigit(out[j])) {
      digit = true;
    } else if (out[j] == '.' && !dot) {
      dot = true;
    } else {
      return "";
    }
  }
  if (!digit) return "";
  if (dot) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  while (out.size() > i + 1 && out[i] == '0' && out[i + 1] != '.') out.erase(i, 1);
  if (out == "-0") out = "0";
  return out;
}

// The numbers in `s`, in order, each as written (digits with , separators and one decimal point).
std::vector<std::string> Numbers(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    if (!IsDigit(s[i])) {
      ++i;
      continue;
    }
    size_t b = i;
    if (b > 0 && s[b - 1] == '-') --b;
    while (i < s.size() && (IsDigit(s[i]) || ((s[i] == ',' || s[i] == '.') && i + 1 < s.size() && IsDigit(s[i + 1]))))
      ++i;
    out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

// The text after the last of `markers` found in `s` ("" when none is).
std::string_view After(std::string_view s, std::initializer_list<std::string_view> markers) {
  size_t best = std::string_view::npos, len = 0;
  for (auto m : markers) {
    size_t at = s.rfind(m);
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) best = at, len = m.size();
  }
  return best == std::string_view::npos ? std::string_view() : s.substr(best + len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ExtractNumber(std::string_view text) {
  for (auto marker : {std::string_view("####"), std::string_view("\\boxed{")}) {
    std::string_view rest = After(text, {marker});
    auto nums = Numbers(rest.substr(0, 64));
    if (!nums.empty()) return CanonicalNumber(nums.front());
  }
  const std::string lower = Lower(text);
  std::string_view rest = After(lower, {"answer is", "answer:"});
  if (!rest.empty()) {
    auto nums = Numbers(rest.substr(0, 64));
    if (!nums.empty()) return CanonicalNumber(nums.front());
  }
  auto nums = Numbers(text);
  return nums.empty() ? "" : CanonicalNumber(nums.back());
}

std::string NormalizeText(std::string_view text) {
  std::string cleaned;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::ispunct(u)) continue;
    cleaned += std::isspace(u) ? ' ' : static_cast<char>(std::tolower(u));
  }
  std::string out;
  size_t i = 0;
  while (i < cleaned.size()) {
    size_t b = cleaned.find_first_not_of(' ', i);
    if (b == std::string::npos) break;
    size_t e = cleaned.find(' ', b);
    if (e == std::string::npos) e = cleaned.size();
    std::string_view w(cleaned.data() + b, e - b);
    if (w != "a" && w != "an" && w != "the") {
      if (!out.empty()) out += ' ';
      out.append(w);
    }
    i = e;
  }
  return out;
}

// The file's kind, from its prompts and gold answers (as written, before extraction).
Result<AnswerKind> DetectKind(const std::vector<std::string>& asked, const std::vector<std::string>& answers,
                              const std::string& where) {
  size_t with_options = 0, numeric = 0, short_text = 0;
  for (size_t i = 0; i < asked.size(); ++i) {
    if (OptionLetters(asked[i]).size() >= 2) ++with_options;
    const std::string& a = answers[i];
    if (Words(a) <= 12) ++short_text;
    if ((Words(a) <= 12 && !ExtractNumber(a).empty()) || a.find("####") != std::string::npos)
      ++numeric;
  }
  const double n = static_cast<double>(asked.size());
  if (with_options >= 0.9 * n) return AnswerKind::kLetter;
  if (numeric >= 0.9 * n) return AnswerKind::kNumber;
  if (short_text >= 0.9 * n) return AnswerKind::kText;
  return Status(Code::kInvalidArgument,
                where + ": the answers are free-form (code or prose): tandem outcomes scores multiple-choice letters, "
                        "final numbers and short exact answers, and no exact match can score these");
}

Result<LabelledSet> FromRouterBench(const std::string& path, const std::string& strong_in) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto rows = ParseCsv(text.value());
  if (!rows.ok()) return Status(Code::kInvalidArgument, path + ": " + rows.status().message());
  if (rows->size() < 2) return Status(Code::kInvalidArgument, path + ": no rows");
  const CsvRow& h = rows->at(0);
  auto col = [&](const std::string& name) {
    auto it = std::find(h.begin(), h.end(), name);
    return it == h.end() ? -1 : static_cast<int>(it - h.begin());
  };
  const int p = col("prompt");
  if (p < 0) return Status(Code::kInvalidArgument, path + ": no 'prompt' column");
  const std::string strong = strong_in.empty() ? kDefaultStrong : strong_in;
  const int s = col(strong);
  if (s < 0) return Status(Code::kInvalidArgument, path + ": no column for strong model '" + strong + "'");
  // Models with recorded answers, the strong one first: the gold answer is the answer of one marked right.
  std::vector<std::pair<int, int>> answerers;  // (score column, response column)
  if (col(strong + "|model_response") >= 0) answerers.emplace_back(s, col(strong + "|model_response"));
  for (const auto& m : OutcomeColumns(*rows)) {
    int sc = col(m), rc = col(m + "|model_response");
    if (m != strong && sc >= 0 && rc >= 0) answerers.emplace_back(sc, rc);
  }
  if (answerers.empty())
    return Status(Code::kInvalidArgument, path + ": no '<model>|model_response' columns: no gold answers to derive");
  LabelledSet set;
  set.name = std::filesystem::path(path).stem().string();
  set.strong_model = strong;
  std::vector<std::string> gold_text;
  for (size_t i = 1; i < rows->size(); ++i) {
    const CsvRow& r = rows->at(i);
    if (r.size() != h.size())
      return Status(Code::kInvalidArgument, path + " row " + std::to_string(i + 1) + ": expected " +
                                                std::to_string(h.size()) + " fields");
    if (r[s].empty()) continue;
    std::string gold;
    for (auto [sc, rc] : answerers) {
      if ((r[sc] == "1.0" || r[sc] == "1" || r[sc] == "True") && !r[rc].empty()) {
        gold = UnwrapPythonList(r[rc]);
        break;
      }
    }
    if (gold.empty()) {
      ++set.no_gold;
      continue;
    }
    LabelledPrompt lp;
    lp.source = r[p];
    lp.asked = FinalQuestion(UnwrapPythonList(r[p]), &lp.cut);
    lp.strong = (r[s] == "1.0" || r[s] == "1" || r[s] == "True") ? 1.0 : 0.0;
    lp.domain = set.name;
    set.prompts.push_back(std::move(lp));
    gold_text.push_back(std::move(gold));
  }
  if (set.prompts.empty()) return Status(Code::kInvalidArgument, path + ": no row has a gold answer");
  std::vector<std::string> asked;
  for (const auto& lp : set.prompts) asked.push_back(lp.asked);
  auto kind = DetectKind(asked, gold_text, path);
  if (!kind.ok()) return kind.status();
  set.kind = kind.value();
  for (size_t i = 0; i < set.prompts.size(); ++i)
    set.prompts[i].gold = ExtractAnswer(set.kind, gold_text[i], OptionLetters(set.prompts[i].asked));
  return set;
}

Result<LabelledSet> FromJsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(Code::kNotFound, path + ": cannot open");
  LabelledSet set;
  set.name = std::filesystem::path(path).stem().string();
  set.strong_model = "strong";
  simdjson::dom::parser parser;
  std::string line;
  std::vector<std::string> answers, asked;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    simdjson::dom::element e;
    if (auto err = parser.parse(line).get(e))
      return Status(Code::kInvalidArgument, where + ": malformed JSON (" + simdjson::error_message(err) + ")");
    std::string_view prompt, answer, domain;
    if (e["prompt"].get(prompt)) return Status(Code::kInvalidArgument, where + ": 'prompt' (string) is required");
    if (e["answer"].get(answer))
      return Status(Code::kInvalidArgument, where + ": 'answer' (the gold answer, a string) is required");
    simdjson::dom::element sv;
    double strong = 0;
    if (e["strong"].get(sv) || !(sv.is_bool() || sv.is_number()))
      return Status(Code::kInvalidArgument, where + ": 'strong' (the strong model's outcome) is required");
    strong = sv.is_bool() ? (sv.get_bool().value() ? 1 : 0) : sv.get_double().value();
    LabelledPrompt lp;
    lp.source = std::string(prompt);
    lp.asked = FinalQuestion(prompt, &lp.cut);
    lp.strong = strong;
    lp.domain = e["domain"].get(domain) ? set.name : std::string(domain);
    asked.push_back(lp.asked);
    answers.emplace_back(answer);
    set.prompts.push_back(std::move(lp));
  }
  if (set.prompts.empty()) return Status(Code::kInvalidArgument, path + ": no prompts");
  auto kind = DetectKind(asked, answers, path);
  if (!kind.ok()) return kind.status();
  set.kind = kind.value();
  for (size_t i = 0; i < set.prompts.size(); ++i)
    set.prompts[i].gold = ExtractAnswer(set.kind, answers[i], OptionLetters(asked[i]));
  return set;
}

}  // namespace

const char* AnswerKindName(AnswerKind k) {
  switch (k) {
    case AnswerKind::kLetter: return "letter";
    case AnswerKind::kNumber: return "number";
    case AnswerKind::kText: return "text";
  }
  return "?";
}

std::string UnwrapPythonList(std::string_view s) {
  if (s.size() < 4 || s[0] != '[' || s.back() != ']' || (s[1] != '\'' && s[1] != '"') || s[s.size() - 2] != s[1])
    return std::string(s);
  std::string out;
  std::string_view body = s.substr(2, s.size() - 4);
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    char c = body[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'x':
      case 'u':
      case 'U': {
        size_t len = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        size_t j = 0;
        for (; j < len && i + 1 + j < body.size() && std::isxdigit(static_cast<unsigned char>(body[i + 1 + j])); ++j)
          cp = cp * 16 + static_cast<uint32_t>(std::stoi(std::string(1, body[i + 1 + j]), nullptr, 16));
        if (j != len || cp > 0x10FFFF) {
          out += '\\';
          out += c;
          break;
        }
        AppendUtf8(cp, out);
        i += len;
        break;
      }
      default: out += '\\'; out += c;
    }
  }
  return out;
}

std::string FinalQuestion(std::string_view prompt, bool* cut) {
  size_t start = 0;
  for (size_t at = prompt.find("Answer:"); at != std::string_view::npos; at = prompt.find("Answer:", at + 1)) {
    size_t i = at + 7;
    while (i < prompt.size() && (prompt[i] == ' ' || prompt[i] == '\t')) ++i;
    if (i < prompt.size() && prompt[i] == '\n') ++i;
    size_t eol = prompt.find('\n', i);
    if (eol == std::string_view::npos || eol == i || eol - i > 24) continue;  // no short answer on its own line
    if (prompt.substr(eol, 2) != "\n\n") continue;
    size_t next = prompt.find_first_not_of('\n', eol);
    if (next != std::string_view::npos) start = next;
  }
  if (cut) *cut = start > 0;
  return std::string(prompt.substr(start));
}

std::string ExtractAnswer(AnswerKind kind, std::string_view text, std::string_view letters) {
  switch (kind) {
    case AnswerKind::kLetter: return AnsweredLetter(text, letters);
    case AnswerKind::kNumber: return ExtractNumber(text);
    case AnswerKind::kText: return NormalizeText(text);
  }
  return "";
}

Result<LabelledSet> LoadLabelled(const std::string& path, const std::string& strong) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path))
    return Status(Code::kInvalidArgument,
                  path + ": a RouteLLM directory records only whether each model was right, not its answer: there is "
                         "no gold answer to score the SLM against (use a RouterBench CSV, or JSONL with \"answer\")");
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".csv") return FromRouterBench(path, strong);
  if (ext == ".jsonl") return FromJsonl(path);
  return Status(Code::kInvalidArgument, path + ": expected a RouterBench .csv or a .jsonl file");
}

std::string OutcomeJson(const OutcomeRecord& r) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("slm").value(r.slm).key("prompt").value(r.prompt);
  w.key("weak").value(r.weak).key("strong").value(r.strong);
  w.key("domain").value(r.domain).key("gold").value(r.gold).key("answer").value(r.answer);
  w.key("raw_answer").value(r.raw_answer).key("cut").value(r.cut);
  w.key("signals").begin_object();
  for (const auto& [k, v] : r.signals) w.key(k).value(v);
  w.end_object().end_object();
  return out;
}

}  // namespace tandem::eval
