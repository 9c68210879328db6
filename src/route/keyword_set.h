// KeywordSet: which of a rule's keywords occur in a text, in any ASCII case, in one pass over the text.
//
// Rules match keywords anywhere in the last user message, so this pass is as long as the message. With SIMD
// (scan_simd.h: 64 positions at a time with AVX-512, 32 with AVX2) it compares every position against the first
// three bytes of every keyword (letters in either case) and checks the whole keyword only where those match;
// without, it lower-cases the text and searches for each keyword. All give the same answer. Up to
// kMaxSimdKeywords keywords use the SIMD pass. Immutable after construction: thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

class KeywordSet {
 public:
  static constexpr size_t kMaxSimdKeywords = 16;

  explicit KeywordSet(const std::vector<std::string>& keywords);  // empty keywords are ignored
  KeywordSet(const KeywordSet&) = delete;  // pointers_ point into keywords_
  KeywordSet& operator=(const KeywordSet&) = delete;

  // The first keyword, in the order given, that occurs in `text`, or nullptr. `force_scalar` selects the
  // portable pass (tests compare the two).
  const std::string* FirstIn(std::string_view text, bool force_scalar = false) const;
  bool empty() const { return keywords_.empty(); }

 private:
  std::vector<std::string> keywords_;  // lower-cased
  std::vector<const char*> pointers_;  // the same, for the SIMD pass
  std::vector<size_t> lengths_;
};

}  // namespace tandem
