// Helpers for the K-quant SIMD kernels (vec_dot_avx2.cpp, vec_dot_avx512.cpp): a super-block's eight 6-bit
// scales and mins unpacked with word operations, and their min correction with SSE integer ops. Include only from
// a kernel file built for AVX2 or above. Everything here has internal linkage (an unnamed namespace), so each
// kernel file keeps its own copy, compiled for its own instruction set: a shared inline definition could be
// taken by the linker from the AVX-512 file and then run on a CPU without AVX-512.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace tandem::engine::detail {
namespace {

// All eight 6-bit scales and mins of a K-quant super-block at once, with 32-bit word operations (the same values
// as ScaleMinK4 for j = 0..7): out[0..7] the scales, out[8..15] the mins.
inline void ScalesMinsK4(const uint8_t* q, uint8_t out[16]) {
  constexpr uint32_t k6 = 0x3f3f3f3f, k4 = 0x0f0f0f0f, k2 = 0x03030303;
  uint32_t u[3], r[4];
  std::memcpy(u, q, 12);
  r[0] = u[0] & k6;                                  // scales 0..3: low 6 bits of bytes 0..3
  r[1] = (u[2] & k4) | (((u[0] >> 6) & k2) << 4);    // scales 4..7: low nibbles of 8..11, top bits of 0..3
  r[2] = u[1] & k6;                                  // mins 0..3: low 6 bits of bytes 4..7
  r[3] = ((u[2] >> 4) & k4) | (((u[1] >> 6) & k2) << 4);  // mins 4..7: high nibbles of 8..11, top bits of 4..7
  std::memcpy(out, r, 16);
}

// KMins with vector integer ops: the eight mins against the eight sums of bsum pairs, exact.
inline int KMinsVec(const uint8_t* mins, const int16_t* bsums) {
  const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8)));
  const __m128i m = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mins)));
  __m128i s = _mm_madd_epi16(m, pairs);
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

}  // namespace
}  // namespace tandem::engine::detail
