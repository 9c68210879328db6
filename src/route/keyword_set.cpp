#include "route/keyword_set.h"

#include <algorithm>

#include "route/scan_simd.h"

namespace tandem {

static_assert(KeywordSet::kMaxSimdKeywords == route_simd::kMaxKeywords);

namespace {

inline char Lower(char c) { return static_cast<char>(c + (static_cast<unsigned char>(c - 'A') < 26u ? 32 : 0)); }

}  // namespace

KeywordSet::KeywordSet(const std::vector<std::string>& keywords) {
  for (const auto& k : keywords) {
    if (k.empty()) continue;
    std::string lower = k;
    for (char& c : lower) c = Lower(c);
    keywords_.push_back(std::move(lower));
  }
  for (const auto& k : keywords_) {
    pointers_.push_back(k.data());
    lengths_.push_back(k.size());
  }
}

const std::string* KeywordSet::FirstIn(std::string_view text, bool force_scalar) const {
  if (keywords_.empty()) return nullptr;
  if (!force_scalar && keywords_.size() <= kMaxSimdKeywords &&
      route_simd::ActiveLevel() != route_simd::Level::kScalar) {
    const uint32_t found = route_simd::KeywordsFound(reinterpret_cast<const uint8_t*>(text.data()), text.size(),
                                                     pointers_.data(), lengths_.data(), keywords_.size());
    return found ? &keywords_[static_cast<size_t>(__builtin_ctz(found))] : nullptr;
  }
  thread_local std::string lower;
  lower.resize(text.size());
  char* out = lower.data();
  for (size_t i = 0; i < text.size(); ++i) out[i] = Lower(text[i]);
  for (const auto& k : keywords_) {
    if (lower.find(k) != std::string::npos) return &k;
  }
  return nullptr;
}

}  // namespace tandem
