#include "core/utf8.h"

namespace tandem {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";

// How many bytes from s[i] on match the start of a well-formed sequence (at least the lead byte, or 0 if s[i]
// cannot lead one), and how long that sequence must be (`need`; 0 for a byte that leads nothing).
size_t MatchedPrefix(std::string_view s, size_t i, size_t* need) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *need = 1;
    return 1;
  }
  // Each lead byte's allowed range for its second byte (table 3-7); later bytes are always 80..BF.
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    *need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    *need = 3;
    if (c == 0xE0) lo = 0xA0;  // below: overlong
    if (c == 0xED) hi = 0x9F;  // above: surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    *need = 4;
    if (c == 0xF0) lo = 0x90;  // below: overlong
    if (c == 0xF4) hi = 0x8F;  // above: beyond U+10FFFF
  } else {
    *need = 0;  // 80..C1 and F5..FF lead nothing
    return 0;
  }
  size_t k = 1;
  for (; k < *need && i + k < s.size(); ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < lo || b > hi) break;
    lo = 0x80;
    hi = 0xBF;
  }
  return k;
}

}  // namespace

size_t Utf8Step(std::string_view s, size_t i, bool* valid) {
  size_t need = 0;
  const size_t got = MatchedPrefix(s, i, &need);
  *valid = need != 0 && got == need;
  return got == 0 ? 1 : got;  // a byte that starts nothing is a maximal subpart of its own
}

bool IsValidUtf8(std::string_view s) {
  bool valid = true;
  for (size_t i = 0; i < s.size() && valid;) i += Utf8Step(s, i, &valid);
  return valid;
}

void AppendValidUtf8(std::string* out, std::string_view s) {
  size_t run = 0;  // start of the well-formed bytes not yet copied
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    bool valid = true;
    const size_t n = Utf8Step(s, i, &valid);
    if (!valid) {
      out->append(s.data() + run, i - run);
      out->append(kReplacement);
      run = i + n;
    }
    i += n;
  }
  out->append(s.data() + run, s.size() - run);
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendValidUtf8(&out, s);
  return out;
}

size_t Utf8IncompleteTail(std::string_view s) {
  // A sequence is at most 4 bytes: an unfinished one starts within the last 3.
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const size_t i = s.size() - back;
    size_t need = 0;
    const size_t got = MatchedPrefix(s, i, &need);
    if (need == 0) continue;  // a continuation byte (or one that leads nothing): look further back
    return got == back && need > back ? back : 0;
  }
  return 0;
}

}  // namespace tandem
