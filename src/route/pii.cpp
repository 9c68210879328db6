#include "route/pii.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cctype>
#include <functional>

#include "route/pii_windows.h"

namespace tandem {
namespace {

std::string DigitsOnly(std::string_view s) {
  std::string d;
  for (char c : s) {
    if (c >= '0' && c <= '9') d.push_back(c);
  }
  return d;
}

bool SsnValid(std::string_view s) {
  std::string d = DigitsOnly(s);
  if (d.size() != 9) return false;
  int area = std::stoi(d.substr(0, 3)), group = std::stoi(d.substr(3, 2)), serial = std::stoi(d.substr(5, 4));
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool PhoneValid(std::string_view s) {
  std::string d = DigitsOnly(s);
  return d.size() >= 10 && d.size() <= 15;
}

bool IpValid(std::string_view s) {
  if (s.find(':') != std::string_view::npos) return true;  // the IPv6 pattern is strict enough
  int parts = 0;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view part =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > 3) return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // 0.0.0.0-style version strings ("1.2.3.4" in "version 1.2.3.4") are rare enough; accept.
  return parts == 4;
}

struct Pattern {
  std::string kind;
  std::unique_ptr<RE2> re;
  std::function<bool(std::string_view)> check;  // optional validator of the match
};

}  // namespace

bool LuhnValid(std::string_view digits) {
  if (digits.size() < 13 || digits.size() > 19) return false;
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool IbanValid(std::string_view iban) {
  if (iban.size() < 15 || iban.size() > 34) return false;
  std::string moved(iban.substr(4));
  moved.append(iban.substr(0, 4));
  int rem = 0;
  for (char c : moved) {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

struct PiiDetector::Impl {
  std::vector<Pattern> patterns;
  std::unique_ptr<RE2::Set> any;  // every pattern at once: one DFA pass finds which kinds have candidates
};

PiiDetector::PiiDetector(const std::vector<std::string>& kinds)
    : impl_(std::make_unique<Impl>()), media_(std::find(kinds.begin(), kinds.end(), "media") != kinds.end()) {
  RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_max_mem(8 << 20);
  auto add = [&](const std::string& kind, const char* re,
                 std::function<bool(std::string_view)> check = nullptr) {
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) return;
    impl_->patterns.push_back(Pattern{kind, std::make_unique<RE2>(re, opt), std::move(check)});
  };
  add("email", R"(([A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}))");
  add("card", R"((\b(?:\d[ \-]?){12,18}\d\b))", [](std::string_view m) { return LuhnValid(DigitsOnly(m)); });
  add("iban", R"((\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b))", [](std::string_view m) {
    std::string s;
    for (char c : m) {
      if (c != ' ') s.push_back(c);
    }
    return IbanValid(s);
  });
  add("ssn", R"((\b\d{3}-\d{2}-\d{4}\b))", SsnValid);
  add("phone", R"(((?:\+\d{1,3}[ .\-]?)?(?:\(\d{2,4}\)[ .\-]?|\d{2,4}[ .\-])\d{3,4}[ .\-]\d{3,4}\b))",
      PhoneValid);
  add("ip",
      R"((\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?))",
      IpValid);
  add("secret",
      R"((\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36,}|\bxox[abpr]-[A-Za-z0-9\-]{10,}|\bAIza[0-9A-Za-z_\-]{35}|-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----|\b[Bb]earer [A-Za-z0-9\-._~+/]{20,}=*|(?i:\b(?:password|passwd|pwd|secret|api[_-]?key|token)\s*[:=]\s*\S{6,})))");
  RE2::Options set_opt = opt;
  set_opt.set_max_mem(32 << 20);
  impl_->any = std::make_unique<RE2::Set>(set_opt, RE2::UNANCHORED);
  for (const auto& p : impl_->patterns) impl_->any->Add(p.re->pattern(), nullptr);
  if (!impl_->any->Compile()) impl_->any.reset();  // fall back to one scan per kind
}

PiiDetector::~PiiDetector() = default;

namespace {

// The patterns whose candidates appear in `text`, found in one pass (or all of them if the set cannot run).
std::vector<int> Candidates(const RE2::Set* any, size_t n, std::string_view text) {
  std::vector<int> hits;
  if (any) {
    RE2::Set::ErrorInfo info;
    if (any->Match(re2::StringPiece(text.data(), text.size()), &hits, &info)) {
      std::sort(hits.begin(), hits.end());
      return hits;
    }
    if (info.kind == RE2::Set::kNoError) return {};  // no candidate at all
  }
  hits.clear();  // no set, or its DFA ran out of memory: scan kind by kind
  for (size_t i = 0; i < n; ++i) hits.push_back(static_cast<int>(i));
  return hits;
}

}  // namespace

std::vector<PiiFinding> PiiDetector::scan(std::string_view text, size_t limit) const {
  std::vector<PiiFinding> out;
  for (const auto& p : impl_->patterns) {
    re2::StringPiece input(text.data(), text.size());
    re2::StringPiece match;
    while (out.size() < limit && RE2::FindAndConsume(&input, *p.re, &match)) {
      std::string_view m(match.data(), match.size());
      if (p.check && !p.check(m)) continue;
      out.push_back(PiiFinding{p.kind, static_cast<size_t>(match.data() - text.data()), match.size()});
    }
  }
  return out;
}

std::vector<std::string> PiiDetector::kinds_in(std::string_view text) const {
  // Only the windows around anchors can hold a match (pii_windows.h). In each, one pass of the set finds the
  // kinds with a candidate; only those pay for submatches and checksums, matched with the whole text as context
  // so that \b at a window's edge means what it means in the text.
  thread_local std::vector<TextSpan> windows;
  PiiWindows(text, &windows);
  const size_t n = impl_->patterns.size();
  std::vector<char> found(n, 0);
  size_t left = n;
  const re2::StringPiece whole(text.data(), text.size());
  for (const TextSpan& w : windows) {
    for (int i : Candidates(impl_->any.get(), n, text.substr(w.begin, w.end - w.begin))) {
      if (found[i]) continue;
      const Pattern& p = impl_->patterns[i];
      size_t pos = w.begin;
      re2::StringPiece m;
      while (pos < w.end && p.re->Match(whole, pos, w.end, RE2::UNANCHORED, &m, 1)) {
        if (!p.check || p.check(std::string_view(m.data(), m.size()))) {
          found[i] = 1;
          --left;
          break;
        }
        pos = std::max(pos + 1, static_cast<size_t>(m.data() - text.data()) + m.size());
      }
    }
    if (left == 0) break;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    if (found[i]) out.push_back(impl_->patterns[i].kind);
  }
  return out;
}

}  // namespace tandem
