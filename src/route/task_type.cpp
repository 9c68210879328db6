#include "route/task_type.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "route/scan_simd.h"

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

constexpr size_t kPadding = 16;  // the filter probes read 16 bytes from each position

inline uint32_t Key3(const char* p) {  // three bytes, little-endian; p[3] must be readable
  uint32_t x;
  std::memcpy(&x, p, 4);
  return x & 0xFFFFFFu;
}
inline uint32_t FilterSlot(uint32_t key) { return (key * 0x9E3779B1u) >> 16; }  // 16 bits

// How common a byte is in English text (per mille, roughly); rare bytes make selective keys.
int Commonness(char c) {
  static constexpr char kOrder[] = " etaoinshrdlcumwfgypbvkjxqz";  // most to least common
  static constexpr int kFreq[] = {180, 127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28, 24,
                                  24,  22,  20, 20, 19, 15, 10, 8,  2,  2,  1,  1};
  for (size_t i = 0; i + 1 < sizeof kOrder; ++i) {
    if (kOrder[i] == c) return kFreq[i];
  }
  return 5;  // digits and punctuation
}

// Each needle of three bytes or more is keyed by its rarest three-byte substring (a 2^16-bit filter over a hash
// of the key, and sorted (key, needle, offset) entries): one probe per position of the window, and few hits to
// confirm. The two-byte "hi" is found by a plain search, and only matters for short prompts.
struct NeedleIndex {
  struct Entry {
    uint32_t key;
    uint16_t needle;
    uint16_t offset;  // where the key sits in the needle
    bool operator<(const Entry& o) const { return key < o.key; }
  };
  uint64_t filter[1024] = {};
  std::vector<Entry> entries;          // sorted by key
  std::vector<uint16_t> short_needles;  // fewer than three bytes
  std::vector<std::string> texts;

  NeedleIndex() {
    for (const auto& n : kNeedles) {
      std::string t = n.text;
      for (char& c : t) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      const auto id = static_cast<uint16_t>(texts.size());
      texts.push_back(t);
      if (t.size() < 3) {
        short_needles.push_back(id);
        continue;
      }
      size_t best = 0;
      long best_score = -1;
      for (size_t j = 0; j + 3 <= t.size(); ++j) {
        const long score = static_cast<long>(Commonness(t[j])) * Commonness(t[j + 1]) * Commonness(t[j + 2]);
        if (best_score < 0 || score < best_score) {
          best = j;
          best_score = score;
        }
      }
      const uint32_t key = Key3((t + '\0').data() + best);
      filter[FilterSlot(key) / 64] |= uint64_t{1} << (FilterSlot(key) % 64);
      entries.push_back(Entry{key, id, static_cast<uint16_t>(best)});
    }
    std::stable_sort(entries.begin(), entries.end());
  }
};

const NeedleIndex& Index() {
  static const NeedleIndex index;
  return index;
}

// Marks in `seen` the needles occurring in lower[0, n) (lower has 16 readable bytes past n, all zero).
// `with_short`: also the needles shorter than three bytes.
void FindNeedles(const char* lower, size_t n, bool with_short, std::vector<char>& seen) {
  const NeedleIndex& ix = Index();
  // Which positions' keys pass the filter: 16 or 8 at a time with SIMD (a gather of filter words), then the rest.
  const size_t count = n >= 3 ? n - 2 : 0;
  thread_local std::vector<uint64_t> hits;
  hits.assign(count / 64 + 1, 0);
  size_t k = route_simd::FilterProbes(reinterpret_cast<const uint8_t*>(lower), count, ix.filter, hits.data());
  for (; k < count; ++k) {
    const uint32_t s = FilterSlot(Key3(lower + k));
    hits[k / 64] |= ((ix.filter[s / 64] >> (s % 64)) & 1) << (k % 64);
  }
  for (size_t w = 0; w < hits.size(); ++w) {
    for (uint64_t bits = hits[w]; bits; bits &= bits - 1) {
      k = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
      const uint32_t key = Key3(lower + k);
      auto it = std::lower_bound(ix.entries.begin(), ix.entries.end(), NeedleIndex::Entry{key, 0, 0});
      for (; it != ix.entries.end() && it->key == key; ++it) {
        const std::string& t = ix.texts[it->needle];
        if (seen[it->needle] || k < it->offset) continue;
        const size_t at = k - it->offset;
        if (at + t.size() <= n && std::memcmp(lower + at, t.data(), t.size()) == 0) seen[it->needle] = 1;
      }
    }
  }
  if (with_short) {
    const std::string_view text(lower, n);
    for (uint16_t id : ix.short_needles) seen[id] = text.find(ix.texts[id]) != std::string_view::npos;
  }
}

}  // namespace

size_t LowerWindow(std::string_view prompt, size_t padding, std::string* out, size_t head, size_t tail) {
  const bool whole = prompt.size() <= head + tail;
  const size_t m = whole ? prompt.size() : head + 1 + tail;
  out->resize(m + padding);
  char* w = out->data();  // locals, so the loop vectorizes
  if (whole) {
    std::memcpy(w, prompt.data(), m);
  } else {
    std::memcpy(w, prompt.data(), head);
    w[head] = '\n';
    std::memcpy(w + head + 1, prompt.data() + prompt.size() - tail, tail);
  }
  for (size_t i = 0; i < m; ++i) {
    const auto c = static_cast<unsigned char>(w[i]);
    w[i] = static_cast<char>(c + (static_cast<unsigned char>(c - 'A') < 26u ? 32 : 0));
  }
  std::memset(w + m, 0, padding);
  return m;
}

const std::vector<std::string>& TaskNeedles() { return Index().texts; }

std::vector<bool> TaskNeedlesIn(std::string_view text) {
  thread_local std::string window;
  const size_t n = LowerWindow(text, kPadding, &window);
  const char* lower = window.data();
  std::vector<char> seen(TaskNeedles().size(), 0);
  FindNeedles(lower, n, true, seen);
  return {seen.begin(), seen.end()};
}

std::string ClassifyTask(std::string_view prompt) {
  thread_local std::string window;
  const size_t n = LowerWindow(prompt, kPadding, &window);
  const char* lower = window.data();
  // Chitchat needles decide only short prompts (below); the two-byte "hi" is searched for only there.
  thread_local std::vector<char> seen;
  seen.assign(TaskNeedles().size(), 0);
  FindNeedles(lower, n, prompt.size() < 160, seen);
  int score[kCategories] = {};
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i]) score[kNeedles[i].category] += kNeedles[i].weight;
  }
  int symbols = 0, digits = 0, ops = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = lower[i];
    symbols += (c == '{' || c == '}' || c == ';' || c == '(' || c == ')' || c == '=');
    digits += (c >= '0' && c <= '9');
    ops += (c == '+' || c == '*' || c == '/' || c == '^' || c == '=');
  }
  if (symbols > 12 && symbols * 20 > static_cast<int>(n)) score[kCode] += 2;
  if (digits >= 4 && ops >= 2) score[kMath] += 2;
  static const char* kNames[] = {"code", "math", "translation", "summary", "extraction"};
  int best = 0;
  for (int c = 1; c < kChitchat; ++c) {
    if (score[c] > score[best]) best = c;
  }
  if (score[best] >= 2) return kNames[best];
  if (prompt.size() < 160 && score[kChitchat] > 0) return "chitchat";
  if (score[best] == 1 && prompt.size() < 2000) return kNames[best];
  return "general";
}

}  // namespace tandem
