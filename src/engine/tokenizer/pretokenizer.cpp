#include "engine/tokenizer/pretokenizer.h"

#include "engine/tokenizer/unicode.h"

namespace tandem::engine {
namespace {

// Matcher state over one fragment cpts[begin, end).
class Splitter {
 public:
  Splitter(const std::vector<uint32_t>& cpts, size_t begin, size_t end, std::vector<std::pair<size_t, size_t>>* out)
      : c_(cpts), begin_(begin), end_(end), out_(out), prev_(begin) {}

  uint32_t Cp(size_t pos) const { return pos < end_ ? c_[pos] : kCpOutOfRange; }
  uint8_t Flags(size_t pos) const { return pos < end_ ? CpFlags(c_[pos]) : 0; }
  void Emit(size_t end) {
    if (end > prev_) out_->emplace_back(prev_, end);
    prev_ = end;
  }
  size_t begin() const { return begin_; }
  size_t end() const { return end_; }

 private:
  const std::vector<uint32_t>& c_;
  size_t begin_, end_;
  std::vector<std::pair<size_t, size_t>>* out_;
  size_t prev_;
};

constexpr uint8_t kWLN = kCpWhitespace | kCpLetter | kCpNumber;

inline uint32_t Lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Length of a contraction ('s, 't, 're, 've, 'm, 'll, 'd) at pos, or 0.
size_t Contraction(const Splitter& s, size_t pos, bool ignore_case) {
  if (s.Cp(pos) != '\'' || pos + 1 >= s.end()) return 0;
  auto cp = [&](size_t p) { return ignore_case ? Lower(s.Cp(p)) : s.Cp(p); };
  const uint32_t n1 = cp(pos + 1);
  if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') return 2;
  if (pos + 2 < s.end()) {
    const uint32_t n2 = cp(pos + 2);
    if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) return 3;
  }
  return 0;
}

// The tail both patterns share, at a position no other branch took: `\s+(?!\S)` (a whitespace run that is not
// the text's end gives up its last character, which then leads the next word), else `\s+`, else the single
// code point on its own. Returns the end of the piece.
size_t WhitespaceOrSingle(const Splitter& s, size_t pos, size_t ws) {
  if (ws > 1 && s.Cp(pos + ws) != kCpOutOfRange) return pos + ws - 1;
  if (ws > 0) return pos + ws;
  return pos + 1;
}

void SplitGpt2(Splitter& s) {
  size_t pos = s.begin();
  while (pos < s.end()) {
    if (size_t n = Contraction(s, pos, false)) {
      pos += n;
      s.Emit(pos);
      continue;
    }
    const uint32_t cp = s.Cp(pos);
    const bool space = cp == ' ';
    uint8_t f2 = space ? s.Flags(pos + 1) : s.Flags(pos);
    if (f2 & kCpLetter) {
      pos += space;
      while (s.Flags(pos) & kCpLetter) ++pos;
      s.Emit(pos);
      continue;
    }
    if (f2 & kCpNumber) {
      pos += space;
      while (s.Flags(pos) & kCpNumber) ++pos;
      s.Emit(pos);
      continue;
    }
    if (!(f2 & kWLN) && f2) {
      pos += space;
      while (true) {
        const uint8_t f = s.Flags(pos);
        if ((f & kWLN) || !f) break;
        ++pos;
      }
      s.Emit(pos);
      continue;
    }
    size_t ws = 0;
    while (s.Flags(pos + ws) & kCpWhitespace) ++ws;
    pos = WhitespaceOrSingle(s, pos, ws);
    s.Emit(pos);
  }
}

void SplitLlama3(Splitter& s, size_t max_digits) {
  size_t pos = s.begin();
  while (pos < s.end()) {
    if (size_t n = Contraction(s, pos, true)) {
      pos += n;
      s.Emit(pos);
      continue;
    }
    const uint32_t cp = s.Cp(pos);
    const uint8_t flags = s.Flags(pos);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(cp == '\r' || cp == '\n' || (flags & kCpNumber))) {
      if ((flags & kCpLetter) || (s.Flags(pos + 1) & kCpLetter)) {
        ++pos;
        while (s.Flags(pos) & kCpLetter) ++pos;
        s.Emit(pos);
        continue;
      }
    }
    // \p{N}{1,max}
    if (flags & kCpNumber) {
      size_t run = 0;
      while (s.Flags(pos) & kCpNumber) {
        ++pos;
        if (++run >= max_digits) {
          s.Emit(pos);
          run = 0;
        }
      }
      s.Emit(pos);
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    const bool space = cp == ' ';
    uint8_t f2 = space ? s.Flags(pos + 1) : flags;
    if (!(f2 & kWLN) && f2) {
      pos += space;
      while (true) {
        const uint8_t f = s.Flags(pos);
        if ((f & kWLN) || !f) break;
        ++pos;
      }
      while (s.Cp(pos) == '\r' || s.Cp(pos) == '\n') ++pos;
      s.Emit(pos);
      continue;
    }
    size_t ws = 0, last_newline_end = 0;
    while (s.Flags(pos + ws) & kCpWhitespace) {
      const uint32_t c = s.Cp(pos + ws);
      if (c == '\r' || c == '\n') last_newline_end = pos + ws + 1;
      ++ws;
    }
    if (last_newline_end > 0) {  // \s*[\r\n]+
      pos = last_newline_end;
      s.Emit(pos);
      continue;
    }
    pos = WhitespaceOrSingle(s, pos, ws);
    s.Emit(pos);
  }
}

}  // namespace

bool PreTokenizerFromName(std::string_view name, PreTokenizer* out) {
  if (name == "default" || name == "gpt-2" || name == "gpt2") *out = PreTokenizer::kGpt2;
  else if (name == "smollm" || name == "starcoder" || name == "refact") *out = PreTokenizer::kSmollm;
  else if (name == "llama3" || name == "llama-bpe" || name == "llama-v3") *out = PreTokenizer::kLlama3;
  else if (name == "qwen2" || name == "qwen35") *out = PreTokenizer::kQwen2;
  else return false;
  return true;
}

void PreTokenize(PreTokenizer kind, const std::vector<uint32_t>& cpts, size_t begin, size_t end,
                 std::vector<std::pair<size_t, size_t>>* words) {
  switch (kind) {
    case PreTokenizer::kGpt2: {
      Splitter s(cpts, begin, end, words);
      SplitGpt2(s);
      return;
    }
    case PreTokenizer::kSmollm: {
      // \p{N} splits first: each number code point is its own fragment; the spans between go through GPT-2.
      size_t start = begin;
      for (size_t i = begin; i <= end; ++i) {
        if (i == end || (CpFlags(cpts[i]) & kCpNumber)) {
          if (i > start) {
            Splitter s(cpts, start, i, words);
            SplitGpt2(s);
          }
          if (i < end) words->emplace_back(i, i + 1);
          start = i + 1;
        }
      }
      return;
    }
    case PreTokenizer::kLlama3: {
      Splitter s(cpts, begin, end, words);
      SplitLlama3(s, 3);
      return;
    }
    case PreTokenizer::kQwen2: {
      Splitter s(cpts, begin, end, words);
      SplitLlama3(s, 1);
      return;
    }
  }
}

}  // namespace tandem::engine
