// The scalar half of the SIMD keyword scans (scan_avx2.cpp, scan_avx512.cpp): the per-keyword bytes the vector
// loop compares, and the whole-keyword check at each position it flags. Everything here has internal linkage, so
// each kernel's file gets its own copy compiled for its own instruction set: a shared inline copy built with
// AVX-512 could otherwise be the one the linker keeps for an AVX2-only CPU. Internal to route/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "route/scan_simd.h"

namespace tandem::route_simd {
namespace {  // NOLINT: internal linkage on purpose (see above)

// The search state of KeywordsFound (scan_simd.h) over t[0, n).
class KeywordScan {
 public:
  KeywordScan(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count)
      : t_(t), n_(n), keywords_(keywords), lens_(lens), count_(count < kMaxKeywords ? count : kMaxKeywords),
        all_((1u << count_) - 1) {}

  size_t count() const { return count_; }
  // Byte b (< 3) of keyword j as the vector loop tests it: (text byte | fold) == want. fold is 0x20 for a letter
  // (the byte folded to lower case; no other byte becomes a lower-case letter) and 0 for anything else; past the
  // keyword's end both are 0xFF, which always holds.
  char want(size_t j, size_t b) const { return b >= lens_[j] ? static_cast<char>(0xFF) : keywords_[j][b]; }
  char fold(size_t j, size_t b) const {
    const char c = want(j, b);
    return b >= lens_[j] ? static_cast<char>(0xFF) : (c >= 'a' && c <= 'z') ? 0x20 : 0;
  }

  // The vector loop's tables: want[j][b] and fold[j][b] broadcast to every byte of a vector V by `set1`.
  template <class V, class Set1>
  void Broadcast(V (*want)[3], V (*fold)[3], Set1 set1) const {
    for (size_t j = 0; j < count_; ++j) {
      for (size_t b = 0; b < 3; ++b) {
        want[j][b] = set1(this->want(j, b));
        fold[j][b] = set1(this->fold(j, b));
      }
    }
  }

  bool done() const { return found_ == all_; }
  uint32_t found() const { return found_; }

  // Marks the keywords that occur whole at position p (bounds checked).
  void Check(size_t p) {
    for (size_t j = 0; j < count_; ++j) {
      if (!(found_ >> j & 1) && p + lens_[j] <= n_ && SameFolded(t_ + p, keywords_[j], lens_[j])) found_ |= 1u << j;
    }
  }
  // Checks every position from `from` on, until all are found: the tail the vector loop leaves.
  uint32_t Finish(size_t from) {
    for (size_t i = from; i < n_ && !done(); ++i) Check(i);
    return found_;
  }

 private:
  static bool SameFolded(const uint8_t* t, const char* k, size_t len) {
    for (size_t i = 0; i < len; ++i) {
      const uint8_t c = t[i];
      if (static_cast<char>(c + (static_cast<uint8_t>(c - 'A') < 26 ? 32 : 0)) != k[i]) return false;
    }
    return true;
  }

  const uint8_t* t_;
  size_t n_;
  const char* const* keywords_;
  const size_t* lens_;
  size_t count_;
  uint32_t all_;
  uint32_t found_ = 0;
};

}  // namespace
}  // namespace tandem::route_simd
