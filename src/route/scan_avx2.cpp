// The AVX2 kernels of route/ (contracts in scan_simd.h). Built with -mavx2; scan_simd.cpp calls them only on a
// CPU with AVX2. Plain pointers and integers in, no library templates: an inline function emitted here with AVX2
// code must not be the copy the linker gives the rest of the program.
#include "route/scan_kernels.h"

#include "route/keyword_kernel.h"
#include "route/scan_simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>


namespace tandem::route_avx2 {
namespace {

inline __m256i Eq(__m256i v, char c) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c)); }
inline __m256i Load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

}  // namespace

size_t PiiCandidates(const uint8_t* t, size_t n, uint64_t* digits, uint64_t* triggers) {
  const __m256i zero = _mm256_set1_epi8('0'), nine = _mm256_set1_epi8('9');
  size_t i = 0;
  for (; i + 35 <= n; i += 32) {  // v3 reads bytes i+3 .. i+34
    const __m256i v0 = Load(t + i), v1 = Load(t + i + 1), v2 = Load(t + i + 2), v3 = Load(t + i + 3);
    const __m256i d = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_max_epu8(v0, zero), v0),
                                       _mm256_cmpeq_epi8(_mm256_min_epu8(v0, nine), v0));
    __m256i g = _mm256_or_si256(_mm256_or_si256(Eq(v0, '@'), Eq(v0, ':')),
                                _mm256_or_si256(Eq(v0, '='), _mm256_or_si256(Eq(v0, '-'), Eq(v0, '_'))));
    g = _mm256_or_si256(g, _mm256_and_si256(Eq(v0, 'K'), Eq(v1, 'I')));
    g = _mm256_or_si256(g, _mm256_and_si256(Eq(v0, 'I'), Eq(v1, 'z')));
    g = _mm256_or_si256(g, _mm256_and_si256(_mm256_and_si256(Eq(v0, 'a'), Eq(v1, 'r')),
                                            _mm256_and_si256(Eq(v2, 'e'), Eq(v3, 'r'))));
    const uint64_t dm = static_cast<uint32_t>(_mm256_movemask_epi8(d));
    const uint64_t gm = static_cast<uint32_t>(_mm256_movemask_epi8(g));
    digits[i / 64] |= dm << (i % 64);
    triggers[i / 64] |= gm << (i % 64);
  }
  return i;
}


uint32_t KeywordsFound(const uint8_t* t, size_t n, const char* const* keywords, const size_t* lens, size_t count) {
  route_simd::KeywordScan scan(t, n, keywords, lens, count);
  constexpr size_t kMax = route_simd::kMaxKeywords;
  __m256i want[kMax][3], fold[kMax][3];
  scan.Broadcast(want, fold, [](char c) { return _mm256_set1_epi8(c); });
  size_t i = 0;
  for (; i + 34 < n && !scan.done(); i += 32) {  // reads t[i .. i+33]
    const __m256i v0 = Load(t + i), v1 = Load(t + i + 1), v2 = Load(t + i + 2);
    __m256i any = _mm256_setzero_si256();
    for (size_t j = 0; j < scan.count(); ++j) {
      const __m256i m0 = _mm256_cmpeq_epi8(_mm256_or_si256(v0, fold[j][0]), want[j][0]);
      const __m256i m1 = _mm256_cmpeq_epi8(_mm256_or_si256(v1, fold[j][1]), want[j][1]);
      const __m256i m2 = _mm256_cmpeq_epi8(_mm256_or_si256(v2, fold[j][2]), want[j][2]);
      any = _mm256_or_si256(any, _mm256_and_si256(m0, _mm256_and_si256(m1, m2)));
    }
    for (uint32_t bits = static_cast<uint32_t>(_mm256_movemask_epi8(any)); bits; bits &= bits - 1)
      scan.Check(i + static_cast<size_t>(__builtin_ctz(bits)));
  }
  return scan.Finish(i);
}

size_t FourGramSlots(const uint8_t* b, size_t count, uint32_t shift, uint32_t* out) {
  // Bytes k..k+3 of each of 8 positions, from 16 bytes loaded into both halves.
  const __m256i spread = _mm256_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6,  //
                                          4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10);
  const __m256i mix = _mm256_set1_epi32(0x27D4EB4F), mul = _mm256_set1_epi32(static_cast<int>(0x9E3779B1u));
  const __m128i by = _mm_cvtsi32_si128(static_cast<int>(shift));
  size_t k = 0;
  for (; k + 8 <= count; k += 8) {
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k)));
    const __m256i x = _mm256_shuffle_epi8(v, spread);
    const __m256i h = _mm256_srl_epi32(_mm256_mullo_epi32(_mm256_xor_si256(x, mix), mul), by);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k), h);
  }
  return k;
}

size_t FilterProbes(const uint8_t* b, size_t count, const uint64_t* filter, uint64_t* hits) {
  // Bytes k..k+2 of each of 8 positions (the fourth byte zero: index -1 in a shuffle gives 0).
  const __m256i spread = _mm256_setr_epi8(0, 1, 2, -1, 1, 2, 3, -1, 2, 3, 4, -1, 3, 4, 5, -1,  //
                                          4, 5, 6, -1, 5, 6, 7, -1, 6, 7, 8, -1, 7, 8, 9, -1);
  const __m256i mul = _mm256_set1_epi32(static_cast<int>(0x9E3779B1u)), low5 = _mm256_set1_epi32(31);
  const auto* words = reinterpret_cast<const int*>(filter);  // 32-bit halves, little-endian
  size_t k = 0;
  for (; k + 8 <= count; k += 8) {
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k)));
    const __m256i slot = _mm256_srli_epi32(_mm256_mullo_epi32(_mm256_shuffle_epi8(v, spread), mul), 16);
    const __m256i word = _mm256_i32gather_epi32(words, _mm256_srli_epi32(slot, 5), 4);
    const __m256i bit = _mm256_slli_epi32(_mm256_srlv_epi32(word, _mm256_and_si256(slot, low5)), 31);
    const auto m = static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(bit))));
    hits[k / 64] |= m << (k % 64);
  }
  return k;
}


}  // namespace tandem::route_avx2

#else  // not x86: never called (CpuLevel() is kScalar), defined for the linker

namespace tandem::route_avx2 {
size_t PiiCandidates(const uint8_t*, size_t, uint64_t*, uint64_t*) { return 0; }
uint32_t KeywordsFound(const uint8_t*, size_t, const char* const*, const size_t*, size_t) { return 0; }
size_t FourGramSlots(const uint8_t*, size_t, uint32_t, uint32_t*) { return 0; }
size_t FilterProbes(const uint8_t*, size_t, const uint64_t*, uint64_t*) { return 0; }
}  // namespace tandem::route_avx2

#endif
