#include "route/pii_windows.h"

#include <algorithm>
#include <cstdint>

#include "route/scan_simd.h"

namespace tandem {
namespace {

inline bool Digit(uint8_t c) { return c >= '0' && c <= '9'; }
inline bool Upper(uint8_t c) { return c >= 'A' && c <= 'Z'; }
inline bool Hex(uint8_t c) { return Digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline bool Space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }  // RE2 \s
inline bool DomainChar(uint8_t c) {
  return Digit(c) || static_cast<unsigned>((c | 0x20) - 'a') < 26u || c == '.' || c == '-';
}

// Candidate bits, as route_simd::PiiCandidates (scan_simd.h) sets them.
inline bool TriggerAt(const uint8_t* t, size_t i, size_t n) {
  const uint8_t c = t[i];
  if (c == '@' || c == ':' || c == '=' || c == '-' || c == '_') return true;
  if (c == 'K') return i + 1 < n && t[i + 1] == 'I';
  if (c == 'I') return i + 1 < n && t[i + 1] == 'z';
  if (c == 'a') return i + 3 < n && t[i + 1] == 'r' && t[i + 2] == 'e' && t[i + 3] == 'r';
  return false;
}

void CandidatesScalar(const uint8_t* t, size_t from, size_t n, uint64_t* digits, uint64_t* triggers) {
  for (size_t i = from; i < n; ++i) {
    if (Digit(t[i])) digits[i / 64] |= uint64_t{1} << (i % 64);
    if (TriggerAt(t, i, n)) triggers[i / 64] |= uint64_t{1} << (i % 64);
  }
}

// How many of the 16 bytes from p are digits, from the candidate bits.
inline int DigitsIn(const uint64_t* digits, size_t words, size_t p) {
  const size_t w = p / 64, off = p % 64;
  uint64_t bits = digits[w] >> off;
  if (off != 0 && w + 1 < words) bits |= digits[w + 1] << (64 - off);
  uint32_t x = static_cast<uint32_t>(bits & 0xFFFF);  // popcount without needing the POPCNT instruction
  x = x - ((x >> 1) & 0x5555);
  x = (x & 0x3333) + ((x >> 2) & 0x3333);
  x = (x + (x >> 4)) & 0x0F0F;
  return static_cast<int>((x + (x >> 8)) & 0x1F);
}

// Whether t[0, end) may end with one of the password-like keywords of the secret pattern, in any case. The
// pattern is case-insensitive in RE2's sense, where the Kelvin sign matches 'k' and the long s 's': a non-ASCII
// byte among the last 16 counts as a possible keyword.
bool EndsWithKeyword(const uint8_t* t, size_t end) {
  for (size_t i = end > 16 ? end - 16 : 0; i < end; ++i) {
    if (t[i] >= 0x80) return true;
  }
  static constexpr std::string_view kKeywords[] = {"password", "passwd", "pwd",     "secret",
                                                   "apikey",   "api_key", "api-key", "token"};
  for (std::string_view k : kKeywords) {
    if (end < k.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) {
      const uint8_t c = t[end - k.size() + i];
      same = (Upper(c) ? c | 0x20 : c) == static_cast<uint8_t>(k[i]);
    }
    if (same) return true;
  }
  return false;
}

// Merges [s, e) into the sorted, disjoint windows in *out.
void AddWindow(size_t s, size_t e, std::vector<TextSpan>* out) {
  while (!out->empty() && s <= out->back().end) {
    s = std::min(s, out->back().begin);
    e = std::max(e, out->back().end);
    out->pop_back();
  }
  out->push_back(TextSpan{s, e});
}

}  // namespace


void PiiWindows(std::string_view text, std::vector<TextSpan>* out, bool force_scalar) {
  out->clear();
  const auto* t = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const size_t words = (n + 63) / 64;
  thread_local std::vector<uint64_t> digits, triggers;
  digits.assign(words, 0);
  triggers.assign(words, 0);
  size_t done = 0;
  if (!force_scalar) done = route_simd::PiiCandidates(t, n, digits.data(), triggers.data());
  CandidatesScalar(t, done, n, digits.data(), triggers.data());

  auto at = [&](size_t i) -> uint8_t { return i < n ? t[i] : 0; };
  auto window = [&](size_t p, size_t back, size_t ahead) {
    const size_t s = p > back ? p - back : 0;
    AddWindow(s, std::min(n, p + ahead), out);
  };
  size_t digit_skip = 0;  // digits before this are inside the last numeric anchor's (widened) window
  for (size_t w = 0; w < words; ++w) {
    uint64_t bits = digits[w] | triggers[w];
    while (bits) {
      const size_t p = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
      bits &= bits - 1;
      const uint8_t c = t[p];
      if (Digit(c)) {
        if (p < digit_skip) continue;
        // Card, SSN and phone matches have at least 8 digits in the 16 bytes from any of their first digits;
        // an IPv4 address at least 4 digits and 3 dots; an IBAN starts with two capitals and two digits. Years,
        // prices and version numbers are none of these.
        const int count = DigitsIn(digits.data(), words, p);
        bool anchor = count >= 8;
        if (!anchor && count >= 4) {
          int dots = 0;
          for (size_t k = p; k < p + 16 && k < n; ++k) dots += t[k] == '.';
          anchor = dots >= 3;
        }
        if (!anchor) anchor = p >= 2 && Upper(t[p - 2]) && Upper(t[p - 1]) && Digit(at(p + 1));
        if (anchor) {
          // The digits up to p+15 are skipped; the window reaches past the last of them.
          window(p, kWindowReach, 16 + kWindowReach);
          digit_skip = p + 16;
        }
        continue;
      }
      switch (c) {
        case '@': {
          // The domain after '@' may run long before its top-level part: reach past it.
          size_t e = p + 1;
          while (e < n && DomainChar(t[e])) ++e;
          window(p, kWindowReach, std::max(kWindowReach, e - p + 2));
          break;
        }
        case ':':
        case '=': {
          bool anchor = false;
          if (c == ':' && p > 0 && Hex(t[p - 1]) && (Hex(at(p + 1)) || at(p + 1) == ':')) anchor = true;  // IPv6
          // password / passwd / pwd / secret / api key / token, then \s*, then the ':' or '='.
          size_t b = p;
          while (b > 0 && Space(t[b - 1])) --b;
          if (EndsWithKeyword(t, b)) anchor = true;
          if (anchor) {
            size_t e = p + 1;
            while (e < n && Space(t[e])) ++e;
            window(p, (p - b) + kWindowReach, (e - p) + kWindowReach);
          }
          break;
        }
        case '-':
          if ((p >= 2 && t[p - 2] == 's' && t[p - 1] == 'k') || at(p + 1) == '-' ||
              (p >= 4 && t[p - 4] == 'x' && t[p - 3] == 'o' && t[p - 2] == 'x')) {
            window(p, kWindowReach, kWindowReach);
          }
          break;
        case '_':
          if (p >= 3 && t[p - 3] == 'g' && t[p - 2] == 'h') window(p, kWindowReach, kWindowReach);
          break;
        case 'K':  // AKIA
          if (p >= 1 && t[p - 1] == 'A' && at(p + 2) == 'A') window(p, kWindowReach, kWindowReach);
          break;
        case 'I':  // AIza
          if (p >= 1 && t[p - 1] == 'A' && at(p + 2) == 'a') window(p, kWindowReach, kWindowReach);
          break;
        case 'a':  // [Bb]earer
          window(p, kWindowReach, kWindowReach);
          break;
        default:
          break;
      }
    }
  }
}

}  // namespace tandem
