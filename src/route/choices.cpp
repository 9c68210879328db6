#include "route/choices.h"

#include <algorithm>
#include <cctype>

namespace tandem {
namespace {

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// One option line: its letter and where its text (after the delimiter) starts and ends in the prompt.
struct OptionSpan {
  char letter;
  size_t begin, end;
};

std::vector<OptionSpan> OptionSpans(std::string_view prompt) {
  std::vector<OptionSpan> spans;
  size_t i = 0;
  while (i < prompt.size()) {
    size_t b = i;
    if (prompt[b] == '(') ++b;
    const size_t eol = prompt.find('\n', i);
    const size_t end = eol == std::string_view::npos ? prompt.size() : eol;
    const char expect = static_cast<char>('A' + spans.size());
    if (b + 1 < end && expect <= 'J' && prompt[b] == expect &&
        (prompt[b + 1] == ')' || prompt[b + 1] == '.' || prompt[b + 1] == ':'))
      spans.push_back({expect, b + 2, end});
    if (eol == std::string_view::npos) break;
    i = eol + 1;
  }
  return spans;
}

}  // namespace

std::string OptionLetters(std::string_view prompt) {
  std::string letters;
  for (const OptionSpan& s : OptionSpans(prompt)) letters += s.letter;
  return letters.size() >= 2 ? letters : "";
}

std::string RotateOptions(std::string_view prompt, int shift) {
  const std::vector<OptionSpan> spans = OptionSpans(prompt);
  const int n = static_cast<int>(spans.size());
  if (n < 2) return "";
  std::string out(prompt.substr(0, spans[0].begin));
  for (int k = 0; k < n; ++k) {
    const OptionSpan& at = spans[static_cast<size_t>(k)];
    const OptionSpan& from = spans[static_cast<size_t>(((k + shift) % n + n) % n)];
    out += prompt.substr(from.begin, from.end - from.begin);
    const size_t next = k + 1 < n ? spans[static_cast<size_t>(k + 1)].begin : prompt.size();
    out += prompt.substr(at.end, next - at.end);
  }
  return out;
}

std::string AnsweredLetter(std::string_view text, std::string_view letters) {
  if (letters.empty()) letters = "ABCDEFGHIJ";
  auto standalone = [&](std::string_view s) -> std::string {
    for (size_t i = 0; i < s.size(); ++i) {
      if (letters.find(s[i]) == std::string_view::npos) continue;
      if (i > 0 && IsAlnum(s[i - 1])) continue;
      if (i + 1 < s.size() && (IsAlnum(s[i + 1]) || s[i + 1] == '\'')) continue;
      return std::string(1, s[i]);
    }
    return "";
  };
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view marker : {"answer is", "answer:", "correct option is", "correct choice is"}) {
    const size_t at = lower.rfind(marker);
    if (at == std::string::npos) continue;
    std::string_view rest = text.substr(at + marker.size());
    const size_t skip = rest.find_first_not_of(" \t\n*:(\"'");
    if (skip == std::string_view::npos) continue;
    std::string l = standalone(rest.substr(skip, 2));
    if (!l.empty()) return l;
  }
  return standalone(text);
}

const std::vector<std::string>& PermutationSignalNames() {
  static const std::vector<std::string> names = {"perm_prob", "perm_agree", "perm_top", "perm_same"};
  return names;
}

std::map<std::string, double> PermutationSignals(const std::vector<std::vector<double>>& probs,
                                                 std::string_view letters, std::string_view answer) {
  const size_t n = letters.size();
  if (n < 2 || probs.size() != n) return {};
  for (const auto& p : probs)
    if (p.size() != n) return {};
  size_t at = answer.size() == 1 ? letters.find(answer[0]) : std::string_view::npos;
  if (at == std::string_view::npos)
    at = static_cast<size_t>(std::max_element(probs[0].begin(), probs[0].end()) - probs[0].begin());
  std::vector<double> mean(n, 0.0);
  double agree = 0;
  for (size_t shift = 0; shift < n; ++shift) {
    const std::vector<double>& p = probs[shift];
    double mass = 0;
    for (double x : p) mass += x;
    if (mass <= 0) continue;
    size_t best = 0;
    for (size_t k = 0; k < n; ++k) {  // letter k shows option text (k + shift) mod n
      mean[(k + shift) % n] += p[k] / mass / static_cast<double>(n);
      if (p[k] > p[best]) best = k;
    }
    agree += (best + shift) % n == at ? 1.0 / static_cast<double>(n) : 0.0;
  }
  const auto top = std::max_element(mean.begin(), mean.end());
  return {{"perm_prob", mean[at]},
          {"perm_agree", agree},
          {"perm_top", *top},
          {"perm_same", static_cast<size_t>(top - mean.begin()) == at ? 1.0 : 0.0}};
}

}  // namespace tandem
