// The AVX-512 kernel of route/ (contract in scan_simd.h): the rule-keyword scan, 64 positions a step, its
// comparisons giving bit masks directly. Built with -mavx512f -mavx512bw; scan_simd.cpp calls it only on a CPU with
// both. The other kernels' AVX-512 versions measured no faster than AVX2 (scan_simd.h), so they have none. Plain
// pointers and integers in, no library templates (as scan_avx2.cpp).
#include "route/scan_kernels.h"

#include "route/keyword_kernel.h"
#include "route/scan_simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace tandem::route_avx512 {

uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count) {
  route_simd::KeywordScan scan(t, n, keywords, lens, count);
  constexpr size_t kMax = route_simd::kMaxKeywords;
  __m512i want[kMax][3], fold[kMax][3];
  scan.Broadcast(want, fold, [](char c) { return _mm512_set1_epi8(c); });
  size_t i = 0;
  for (; i + 66 < n && !scan.done(); i += 64) {  // reads t[i .. i+65]
    const __m512i v0 = _mm512_loadu_si512(t + i), v1 = _mm512_loadu_si512(t + i + 1);
    const __m512i v2 = _mm512_loadu_si512(t + i + 2);
    __mmask64 any = 0;
    for (size_t j = 0; j < scan.count(); ++j) {
      any |= _mm512_cmpeq_epi8_mask(_mm512_or_si512(v0, fold[j][0]), want[j][0]) &
             _mm512_cmpeq_epi8_mask(_mm512_or_si512(v1, fold[j][1]), want[j][1]) &
             _mm512_cmpeq_epi8_mask(_mm512_or_si512(v2, fold[j][2]), want[j][2]);
    }
    for (uint64_t bits = any; bits; bits &= bits - 1) scan.Check(i + static_cast<size_t>(__builtin_ctzll(bits)));
  }
  return scan.Finish(i);
}

}  // namespace tandem::route_avx512

#else  // not x86-64: never called (CpuLevel() is kScalar), defined for the linker

namespace tandem::route_avx512 {
uint32_t KeywordsFound(const uint8_t*, size_t, const char* const*, const size_t*, size_t) { return 0; }
}  // namespace tandem::route_avx512

#endif
