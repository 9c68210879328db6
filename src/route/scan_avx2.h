// AVX2 kernels of route/ (scan_avx2.cpp, built with -mavx2): each is called only after HasAvx2(), beside a
// portable loop that gives the same result, and tests compare the two. Internal to route/.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::route_avx2 {

// Whether to use these kernels: the CPU runs AVX2 (checked once) and neither TANDEM_FORCE_SCALAR (in the
// environment at start) nor ForceScalar(true) asked for the portable loops. Defined in pii_windows.cpp, which is
// built for any x86.
bool HasAvx2();
void ForceScalar(bool scalar);  // for tests and benchmarks

// PII anchor candidates (pii_windows.cpp): bits, one per byte of t[0, n), OR-ed into 64-bit words: `digits`,
// and `triggers` for the other anchor starts ('@', ':', '=', '-', '_', "KI", "Iz", "arer"). Returns how many
// leading bytes it covered (whole blocks of 32 that can read 3 bytes ahead); the caller scans the rest.
size_t PiiCandidates(const uint8_t* t, size_t n, uint64_t* digits, uint64_t* triggers);

// Rule keywords (keyword_set.cpp): bit k is set when keyword k (keywords[k], lens[k] bytes, lower-case,
// non-empty; k < count <= kMaxKeywords) occurs in t[0, n) in any ASCII case.
inline constexpr size_t kMaxKeywords = 16;
uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count);

// Learned-router 4-grams (learned_router.cpp): out[k] = ((le32(b + k) ^ 0x27D4EB4F) * 0x9E3779B1) >> shift for
// k < count, 8 at a time; b must have 16 readable bytes from every such k. Returns how many it wrote.
size_t FourGramSlots(const uint8_t* b, size_t count, uint32_t shift, uint32_t* out);

// Task needles (task_type.cpp): for k < count, 8 at a time, whether filter bit ((le24(b + k) * 0x9E3779B1) >> 16)
// is set, as bits of `hits` (64 a word, OR-ed in); b must have 16 readable bytes from every such k. Returns how
// many positions it covered.
size_t FilterProbes(const uint8_t* b, size_t count, const uint64_t* filter, uint64_t* hits);

}  // namespace tandem::route_avx2
