// The AVX-512 kernel of route/ (contract in scan_simd.h): the rule-keyword scan, 64 positions a step, its
// comparisons giving bit masks directly. Built with -mavx512f -mavx512bw; scan_simd.cpp calls it only on a CPU with
// both. The other kernels' AVX-512 versions measured no faster than AVX2 (scan_simd.h), so they have none. Plain
// pointers and integers in, no library templates (as scan_avx2.cpp).
#include "route/scan_kernels.h"

#include "route/scan_simd.h"  // kMaxKeywords

#if defined(__x86_64__)
#include <immintrin.h>

namespace tandem::route_avx512 {
namespace {

inline __m512i Load(const uint8_t* p) { return _mm512_loadu_si512(p); }

inline bool SameFolded(const uint8_t* t, const char* k, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    const uint8_t c = t[i];
    if (static_cast<char>(c + (static_cast<uint8_t>(c - 'A') < 26 ? 32 : 0)) != k[i]) return false;
  }
  return true;
}

}  // namespace

uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count) {
  // As the AVX2 version: per keyword and each of its first three bytes, (byte | fold) == want.
  constexpr size_t kMax = route_simd::kMaxKeywords;
  const size_t nk = count < kMax ? count : kMax;
  __m512i want[kMax][3], fold[kMax][3];
  for (size_t j = 0; j < nk; ++j) {
    for (size_t b = 0; b < 3; ++b) {
      const bool past = b >= lens[j];
      const char c = past ? static_cast<char>(0xFF) : keywords[j][b];
      want[j][b] = _mm512_set1_epi8(c);
      fold[j][b] = _mm512_set1_epi8(past ? static_cast<char>(0xFF) : (c >= 'a' && c <= 'z') ? 0x20 : 0);
    }
  }
  uint32_t found = 0;
  const uint32_t all = nk >= 32 ? ~0u : (1u << nk) - 1;
  auto check = [&](size_t p) {  // whole keywords at p (bounds checked)
    for (size_t j = 0; j < nk; ++j) {
      if (!(found >> j & 1) && p + lens[j] <= n && SameFolded(t + p, keywords[j], lens[j])) found |= 1u << j;
    }
  };
  size_t i = 0;
  for (; i + 66 < n && found != all; i += 64) {  // reads t[i .. i+65]
    const __m512i v0 = Load(t + i), v1 = Load(t + i + 1), v2 = Load(t + i + 2);
    __mmask64 any = 0;
    for (size_t j = 0; j < nk; ++j) {
      any |= _mm512_cmpeq_epi8_mask(_mm512_or_si512(v0, fold[j][0]), want[j][0]) &
             _mm512_cmpeq_epi8_mask(_mm512_or_si512(v1, fold[j][1]), want[j][1]) &
             _mm512_cmpeq_epi8_mask(_mm512_or_si512(v2, fold[j][2]), want[j][2]);
    }
    for (uint64_t bits = any; bits; bits &= bits - 1) check(i + static_cast<size_t>(__builtin_ctzll(bits)));
  }
  for (; i < n && found != all; ++i) check(i);
  return found;
}

}  // namespace tandem::route_avx512

#else  // not x86-64: never called (CpuLevel() is kScalar), defined for the linker

namespace tandem::route_avx512 {
uint32_t KeywordsFound(const uint8_t*, size_t, const char* const*, const size_t*, size_t) { return 0; }
}  // namespace tandem::route_avx512

#endif
