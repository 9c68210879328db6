// AVX2 + FMA + F16C dot-product kernels. This file alone is compiled with -mavx2 -mfma -mf16c (see
// CMakeLists); nothing here runs unless CpuHasAvx2() said yes. Every function is file-local so no AVX2 code
// can leak into an inline function shared with the portable build.
#include "engine/kernels/vec_dot.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/kernels/dequant.h"
#include "engine/kernels/fp16.h"
#include "engine/kernels/k_scales_simd.h"
#include "engine/kernels/vec_dot.h"

namespace tandem::engine::detail {
namespace {

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

inline float HSum(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline int HSumI32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// Four horizontal sums at once: lane r of the result is the sum of v[r]'s eight 32-bit lanes (exact: integers).
inline __m128i HSum4I32(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
  const __m256i a = _mm256_hadd_epi32(v0, v1), b = _mm256_hadd_epi32(v2, v3);
  const __m256i c = _mm256_hadd_epi32(a, b);  // per 128-bit half: v0 v1 v2 v3 partial sums
  return _mm_add_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles in lanes 0..15, high nibbles in lanes 16..31.
inline __m256i Nibbles(const uint8_t* p) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Bit k of the 32-bit word -> lane k all ones or zero.
inline __m256i BitsToBytes(const uint8_t* p) {
  uint32_t x;
  std::memcpy(&x, p, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x)), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

// Sum of products of unsigned bytes u and signed bytes s, in 8 int32 lanes.
inline __m256i MulSumU8I8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
// Same for two signed operands (sign moved onto the second so maddubs can take |x|).
inline __m256i MulSumI8I8(__m256i x, __m256i y) {
  return MulSumU8I8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

inline __m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The N activation rows of a multi-row kernel, `stride` bytes apart from `va`, as arrays of blocks.
template <class Block, int N>
inline void ActRows(const void* va, size_t stride, const Block* (&a)[N]) {
  for (int r = 0; r < N; ++r) a[r] = reinterpret_cast<const Block*>(static_cast<const uint8_t*>(va) + stride * r);
}

// Q4_0 in the order of llama.cpp's x86 kernels for repacked Q4_0 weights (ggml_gemv/gemm_q4_0_8x8_q8_0, which it
// uses for every Q4_0 matrix with a multiple of 8 rows, decode and prompt alike): per block the exact integer dot,
// folded in with one fma by d_w * d_a.
float DotQ4_0(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float acc = 0;
  for (int i = 0; i < n / kQK; ++i) {
    const __m256i q = _mm256_sub_epi8(Nibbles(w[i].qs), _mm256_set1_epi8(8));
    const int s = HSumI32(MulSumI8I8(q, Load32(a[i].qs)));
    acc = std::fma(static_cast<float>(s), Half(w[i].d) * Half(a[i].d), acc);
  }
  return acc;
}

float DotQ4_1(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_1*>(vw);
  const auto* a = static_cast<const BlockQ8_1*>(va);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int i = 0; i < n / kQK; ++i) {
    mins = std::fma(Half(w[i].m), Half(a[i].s), mins);
    const __m256 p = _mm256_cvtepi32_ps(MulSumU8I8(Nibbles(w[i].qs), Load32(a[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(Half(w[i].d) * Half(a[i].d)), p, acc);
  }
  return HSum(acc) + mins;
}

float DotQ5_0(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / kQK; ++i) {
    // A clear high bit means value - 16: setting the top nibble to 0xF does exactly that in two's complement.
    const __m256i hi = _mm256_andnot_si256(BitsToBytes(w[i].qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    const __m256i q = _mm256_or_si256(Nibbles(w[i].qs), hi);
    const __m256 p = _mm256_cvtepi32_ps(MulSumI8I8(q, Load32(a[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(Half(w[i].d) * Half(a[i].d)), p, acc);
  }
  return HSum(acc);
}

float DotQ5_1(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_1*>(vw);
  const auto* a = static_cast<const BlockQ8_1*>(va);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int i = 0; i < n / kQK; ++i) {
    mins = std::fma(Half(w[i].m), Half(a[i].s), mins);
    const __m256i hi = _mm256_and_si256(BitsToBytes(w[i].qh), _mm256_set1_epi8(0x10));
    const __m256i q = _mm256_or_si256(Nibbles(w[i].qs), hi);
    const __m256 p = _mm256_cvtepi32_ps(MulSumU8I8(q, Load32(a[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(Half(w[i].d) * Half(a[i].d)), p, acc);
  }
  return HSum(acc) + mins;
}

float DotQ8_0(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ8_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / kQK; ++i) {
    const __m256 p = _mm256_cvtepi32_ps(MulSumI8I8(Load32(w[i].qs), Load32(a[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(Half(w[i].d) * Half(a[i].d)), p, acc);
  }
  return HSum(acc);
}

// Sum over the 8 sub-blocks of min_j * (sum of activations in sub-block j).
inline int KMins(const uint8_t* mins, const int16_t* bsums) {
  int s = 0;
  for (int j = 0; j < 8; ++j) s += mins[j] * (bsums[2 * j] + bsums[2 * j + 1]);
  return s;
}

// Q4_K in the order of llama.cpp's x86 kernels for repacked Q4_K weights (ggml_gemv/gemm_q4_K_8x8_q8_K, which it
// uses for every Q4_K matrix with a multiple of 8 rows): per super-block the exact integer total and the exact
// integer min correction, each folded in with one fused multiply-add; one subtraction at the end.
inline int Q4KSuperBlock(const BlockQ4_K& w, const BlockQ8_K& a, int* mins) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  uint8_t scm[16];
  ScalesMinsK4(w.scales, scm);
  const uint8_t* sc = scm;
  *mins = KMinsVec(scm + 8, a.bsums);
  __m256i sumi = _mm256_setzero_si256();
  for (int j = 0; j < 4; ++j) {
    const __m256i q = Load32(w.qs + 32 * j);
    const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    const __m256i p0 = _mm256_maddubs_epi16(lo, Load32(a.qs + 64 * j));
    const __m256i p1 = _mm256_maddubs_epi16(hi, Load32(a.qs + 64 * j + 32));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * j])));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * j + 1])));
  }
  return HSumI32(sumi);
}

float DotQ4_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float acc = 0, acc_min = 0;
  for (int i = 0; i < n / kQK_K; ++i) {
    int mins;
    const int sumi = Q4KSuperBlock(w[i], a[i], &mins);
    acc = std::fma(static_cast<float>(sumi), Half(w[i].d) * a[i].d, acc);
    acc_min = std::fma(static_cast<float>(mins), Half(w[i].dmin) * a[i].d, acc_min);
  }
  return acc - acc_min;
}

// The 32 five-bit values (0..31) of sub-blocks 2j and 2j + 1 of a Q5_K super-block.
inline void Q5KUnpack(const BlockQ5_K& w, __m256i qh, int j, __m256i* lo, __m256i* hi) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  const __m256i q = Load32(w.qs + 32 * j);
  const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4);
  const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4);
  *lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
  *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
}

float DotQ5_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0;
  for (int i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) ScaleMinK4(j, w[i].scales, &sc[j], &mn[j]);
    acc_min = std::fma(a[i].d * Half(w[i].dmin), static_cast<float>(KMins(mn, a[i].bsums)), acc_min);
    const __m256i qh = Load32(w[i].qh);
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      __m256i lo, hi;
      Q5KUnpack(w[i], qh, j, &lo, &hi);
      const __m256i p0 = _mm256_maddubs_epi16(lo, Load32(a[i].qs + 64 * j));
      const __m256i p1 = _mm256_maddubs_epi16(hi, Load32(a[i].qs + 64 * j + 32));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * j])));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * j + 1])));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[i].d * Half(w[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return HSum(acc) - acc_min;
}

// Q5_K in llama.cpp's tiled order for prompt batches (see DotKernel::dot_batch), for kRows activation rows with
// the weights unpacked once: per super-block r = d_w * isum, then r = -(dmin_w * mins) + r fused, then one fma
// with the activation's d.
template <int kRows>
void Q5KBatchRows(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ5_K*>(vw);
  const BlockQ8_K* a[kRows];
  ActRows(va, stride, a);
  float sum[kRows] = {};
  for (int i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) ScaleMinK4(j, w[i].scales, &sc[j], &mn[j]);
    const __m256i qh = Load32(w[i].qh);
    __m256i sumi[kRows];
    for (auto& v : sumi) v = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      __m256i lo, hi;
      Q5KUnpack(w[i], qh, j, &lo, &hi);
      const __m256i s0 = _mm256_set1_epi16(sc[2 * j]), s1 = _mm256_set1_epi16(sc[2 * j + 1]);
      for (int r = 0; r < kRows; ++r) {
        const int8_t* y = a[r][i].qs + 64 * j;
        sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, Load32(y)), s0),
                                                             _mm256_madd_epi16(_mm256_maddubs_epi16(hi, Load32(y + 32)), s1)));
      }
    }
    const float wd = Half(w[i].d), wdmin = Half(w[i].dmin);
    for (int r = 0; r < kRows; ++r) {
      const float res = std::fma(-wdmin, static_cast<float>(KMins(mn, a[r][i].bsums)),
                                 wd * static_cast<float>(HSumI32(sumi[r])));
      sum[r] = std::fma(res, a[r][i].d, sum[r]);
    }
  }
  for (int r = 0; r < kRows; ++r) out[r] = sum[r];
}

void Dot4Q5_KBatch(int n, const void* vw, const void* va, size_t stride, float* out) {
  Q5KBatchRows<4>(n, vw, va, stride, out);
}
float DotQ5_KBatch(int n, const void* vw, const void* va) {
  float out;
  Q5KBatchRows<1>(n, vw, va, 0, &out);
  return out;
}

// Q6_K in llama.cpp's order: eight int32 lanes per super-block (the 32*sum(activations) correction subtracted
// lane by lane), converted and accumulated in eight float lanes across super-blocks, one horizontal sum at the
// end. The integer lanes can exceed 2^24, so where the conversion happens changes the result.
// Half h (0 or 1) of a Q6_K super-block's weights as four groups of 32 unsigned 6-bit values (0..63).
inline void Q6KUnpack(const BlockQ6_K& w, int h, __m256i q[4]) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
  const uint8_t* ql = w.ql + 64 * h;
  const __m256i l0 = Load32(ql), l1 = Load32(ql + 32), qh = Load32(w.qh + 32 * h);
  q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
  q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
  q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
  q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
}

inline __m256i Q6KSuperBlock(const BlockQ6_K& w, const BlockQ8_K& a) {
  const int8_t* sc = w.scales;
  __m256i sumi = _mm256_setzero_si256();
  for (int h = 0; h < 2; ++h) {
    __m256i q[4];
    Q6KUnpack(w, h, q);
    for (int k = 0; k < 4; ++k) {
      const __m256i p = _mm256_maddubs_epi16(q[k], Load32(a.qs + 128 * h + 32 * k));
      const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[8 * h + 2 * k + 1]), _mm_set1_epi16(sc[8 * h + 2 * k]));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
    }
  }
  // Lane l: 32 * (bsums[2l] * sc[2l] + bsums[2l + 1] * sc[2l + 1]).
  const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
  const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(Load32(a.bsums), scales16), 5);
  return _mm256_sub_epi32(sumi, corr);
}

float DotQ6_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / kQK_K; ++i) {
    const float d = a[i].d * Half(w[i].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(Q6KSuperBlock(w[i], a[i])), acc);
  }
  return HSum(acc);
}

// Q6_K in llama.cpp's tiled order for prompt batches (see DotKernel::dot_batch): per super-block the exact
// integer sum, times the weight's d, then one fma with the activation's d.
float DotQ6_KBatch(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int i = 0; i < n / kQK_K; ++i)
    sum = std::fma(Half(w[i].d) * static_cast<float>(HSumI32(Q6KSuperBlock(w[i], a[i]))), a[i].d, sum);
  return sum;
}

float DotF32(int n, const float* a, const float* b) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = HSum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}
float DotF32W(int n, const void* w, const void* a) {
  return DotF32(n, static_cast<const float*>(w), static_cast<const float*>(a));
}

inline __m256 LoadHalf8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

float DotF16F32(int n, const uint16_t* a, const float* b) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(LoadHalf8(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(LoadHalf8(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LoadHalf8(a + i), _mm256_loadu_ps(b + i), s0);
  float s = HSum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += Half(a[i]) * b[i];
  return s;
}
float DotF16W(int n, const void* w, const void* a) {
  return DotF16F32(n, static_cast<const uint16_t*>(w), static_cast<const float*>(a));
}
float DotBF16W(int n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const float*>(a);
  __m256 s0 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    s0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(h, 16)), _mm256_loadu_ps(y + i), s0);
  }
  float s = HSum(s0);
  for (; i < n; ++i) s += Bf16ToFp32(x[i]) * y[i];
  return s;
}

void Fp32ToFp16Row(int n, const float* x, uint16_t* y) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) y[i] = Fp32ToFp16(x[i]);
}

void AxpyF16(int n, float a, const uint16_t* x, float* y) {
  const __m256 va = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, LoadHalf8(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * Half(x[i]);
}

// ---- One weight row against four activation rows (prompt processing): the weights are unpacked once per block
// and reused four times, and the four horizontal sums happen once at the end.

template <class Act, class Body>
inline void Dot4(int nb, const void* va, size_t stride, float* out, Body body) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  float extra[4] = {0, 0, 0, 0};
  const auto* base = static_cast<const uint8_t*>(va);
  for (int i = 0; i < nb; ++i) {
    const Act* a[4];
    for (int r = 0; r < 4; ++r) a[r] = reinterpret_cast<const Act*>(base + stride * r) + i;
    body(i, a, acc, extra);
  }
  for (int r = 0; r < 4; ++r) out[r] = HSum(acc[r]) + extra[r];
}

// Q4_0 as llama.cpp sums a matrix it does not repack (vec_dot_q4_0_q8_0 and tinyBLAS agree): eight float lanes,
// one fma per block with d_w * d_a, one horizontal sum at the end.
float DotQ4_0Unrepacked(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / kQK; ++i) {
    const __m256i q = _mm256_sub_epi8(Nibbles(w[i].qs), _mm256_set1_epi8(8));
    const __m256 p = _mm256_cvtepi32_ps(MulSumI8I8(q, Load32(a[i].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(Half(w[i].d) * Half(a[i].d)), p, acc);
  }
  return HSum(acc);
}

// DotQ4_0 (the repacked order) for four activation rows; identical to four calls of it.
void Dot4Q4_0(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ4_0*>(vw);
  const BlockQ8_0* a[4];
  ActRows(va, stride, a);
  float acc[4] = {0, 0, 0, 0};
  for (int i = 0; i < n / kQK; ++i) {
    const __m256i q = _mm256_sub_epi8(Nibbles(w[i].qs), _mm256_set1_epi8(8));
    const __m256i aq = _mm256_sign_epi8(q, q);
    const float d = Half(w[i].d);
    __m256i p[4];
    for (int r = 0; r < 4; ++r) p[r] = MulSumU8I8(aq, _mm256_sign_epi8(Load32(a[r][i].qs), q));
    alignas(16) int s[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(s), HSum4I32(p[0], p[1], p[2], p[3]));
    for (int r = 0; r < 4; ++r) acc[r] = std::fma(static_cast<float>(s[r]), d * Half(a[r][i].d), acc[r]);
  }
  for (int r = 0; r < 4; ++r) out[r] = acc[r];
}

// Dot4Q4_0 for two weight rows at once, the eight outputs in vector lanes (lane k: weight row k % 2, activation
// row k / 2) as in Tile24Q4_K: the same integer sums and the same fma per output.
void Tile24Q4_0(int n, const void* vw, size_t w_stride, const void* va, size_t a_stride, float* out, size_t out_stride) {
  const BlockQ4_0* w[2] = {static_cast<const BlockQ4_0*>(vw),
                           reinterpret_cast<const BlockQ4_0*>(static_cast<const uint8_t*>(vw) + w_stride)};
  const BlockQ8_0* a[4];
  ActRows(va, a_stride, a);
  const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), alt = _mm256_setr_epi32(0, 1, 0, 1, 0, 1, 0, 1);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / kQK; ++i) {
    const __m256i q0 = _mm256_sub_epi8(Nibbles(w[0][i].qs), _mm256_set1_epi8(8));
    const __m256i q1 = _mm256_sub_epi8(Nibbles(w[1][i].qs), _mm256_set1_epi8(8));
    const __m256i u0 = _mm256_sign_epi8(q0, q0), u1 = _mm256_sign_epi8(q1, q1);
    __m256i h[4];
    for (int c = 0; c < 4; ++c) {
      const __m256i y = Load32(a[c][i].qs);
      h[c] = _mm256_hadd_epi32(MulSumU8I8(u0, _mm256_sign_epi8(y, q0)), MulSumU8I8(u1, _mm256_sign_epi8(y, q1)));
    }
    const __m256i g01 = _mm256_hadd_epi32(h[0], h[1]), g23 = _mm256_hadd_epi32(h[2], h[3]);
    const __m256i sumi =
        _mm256_set_m128i(_mm_add_epi32(_mm256_castsi256_si128(g23), _mm256_extracti128_si256(g23, 1)),
                         _mm_add_epi32(_mm256_castsi256_si128(g01), _mm256_extracti128_si256(g01, 1)));
    const __m128 da = _mm_cvtph_ps(_mm_setr_epi16(static_cast<short>(a[0][i].d), static_cast<short>(a[1][i].d),
                                                  static_cast<short>(a[2][i].d), static_cast<short>(a[3][i].d), 0, 0,
                                                  0, 0));
    const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(static_cast<short>(w[0][i].d), static_cast<short>(w[1][i].d), 0, 0,
                                                  0, 0, 0, 0));
    const __m256 d = _mm256_mul_ps(_mm256_permutevar8x32_ps(_mm256_castps128_ps256(dw), alt),
                                   _mm256_permutevar8x32_ps(_mm256_castps128_ps256(da), dup));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), d, acc);
  }
  alignas(32) float res[8];
  _mm256_store_ps(res, acc);
  for (int k = 0; k < 8; ++k) out[(k % 2) * out_stride + k / 2] = res[k];
}

void Dot4Q4_1(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ4_1*>(vw);
  Dot4<BlockQ8_1>(n / kQK, va, stride, out, [&](int i, const BlockQ8_1** a, __m256* acc, float* extra) {
    const __m256i q = Nibbles(w[i].qs);
    const float d = Half(w[i].d), m = Half(w[i].m);
    for (int r = 0; r < 4; ++r) {
      extra[r] = std::fma(m, Half(a[r]->s), extra[r]);
      const __m256i p = MulSumU8I8(q, Load32(a[r]->qs));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * Half(a[r]->d)), _mm256_cvtepi32_ps(p), acc[r]);
    }
  });
}

void Dot4Q5_0(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ5_0*>(vw);
  Dot4<BlockQ8_0>(n / kQK, va, stride, out, [&](int i, const BlockQ8_0** a, __m256* acc, float*) {
    const __m256i hi = _mm256_andnot_si256(BitsToBytes(w[i].qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    const __m256i q = _mm256_or_si256(Nibbles(w[i].qs), hi);
    const __m256i aq = _mm256_sign_epi8(q, q);
    const float d = Half(w[i].d);
    for (int r = 0; r < 4; ++r) {
      const __m256i p = MulSumU8I8(aq, _mm256_sign_epi8(Load32(a[r]->qs), q));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * Half(a[r]->d)), _mm256_cvtepi32_ps(p), acc[r]);
    }
  });
}

void Dot4Q8_0(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ8_0*>(vw);
  Dot4<BlockQ8_0>(n / kQK, va, stride, out, [&](int i, const BlockQ8_0** a, __m256* acc, float*) {
    const __m256i q = Load32(w[i].qs);
    const __m256i aq = _mm256_sign_epi8(q, q);
    const float d = Half(w[i].d);
    for (int r = 0; r < 4; ++r) {
      const __m256i p = MulSumU8I8(aq, _mm256_sign_epi8(Load32(a[r]->qs), q));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * Half(a[r]->d)), _mm256_cvtepi32_ps(p), acc[r]);
    }
  });
}

// DotQ4_K for four activation rows with the weights unpacked once (the decode rows of a batched step): each
// row's integers and its float fmas exactly as DotQ4_K has them, so the results are its own, bit for bit.
void Dot4Q4_KDecode(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ4_K*>(vw);
  const BlockQ8_K* a[4];
  ActRows(va, stride, a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  float acc[4] = {0, 0, 0, 0}, acc_min[4] = {0, 0, 0, 0};
  for (int i = 0; i < n / kQK_K; ++i) {
    uint8_t scm[16];
    ScalesMinsK4(w[i].scales, scm);
    const uint8_t *sc = scm, *mn = scm + 8;
    __m256i sumi[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int j = 0; j < 4; ++j) {
      const __m256i q = Load32(w[i].qs + 32 * j);
      const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      const __m256i s0 = _mm256_set1_epi16(sc[2 * j]), s1 = _mm256_set1_epi16(sc[2 * j + 1]);
      for (int r = 0; r < 4; ++r) {
        const __m256i p0 = _mm256_maddubs_epi16(lo, Load32(a[r][i].qs + 64 * j));
        const __m256i p1 = _mm256_maddubs_epi16(hi, Load32(a[r][i].qs + 64 * j + 32));
        sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p0, s0));
        sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p1, s1));
      }
    }
    const float dw = Half(w[i].d), dmin = Half(w[i].dmin);
    for (int r = 0; r < 4; ++r) {
      const int mins = KMinsVec(mn, a[r][i].bsums);
      acc[r] = std::fma(static_cast<float>(HSumI32(sumi[r])), dw * a[r][i].d, acc[r]);
      acc_min[r] = std::fma(static_cast<float>(mins), dmin * a[r][i].d, acc_min[r]);
    }
  }
  for (int r = 0; r < 4; ++r) out[r] = acc[r] - acc_min[r];
}

// The batched form (ggml_gemm_q4_K_8x8_q8_K, used for prompt rows in groups of four): the same integers as
// DotQ4_K, folded into the float sums per pair of 32-value sub-blocks instead of per super-block. The weights'
// nibbles and scales are unpacked once for the four activation rows and their integer sums reduced together;
// each row's float accumulation is its own sequence of fmas, in llama.cpp's order.
void Dot4Q4_K(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ4_K*>(vw);
  const BlockQ8_K* a[4];
  ActRows(va, stride, a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  float acc[4] = {}, acc_min[4] = {};
  for (int i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) ScaleMinK4(j, w[i].scales, &sc[j], &mn[j]);
    const float wd = Half(w[i].d), wdmin = Half(w[i].dmin);
    float d[4], dmin[4];
    for (int r = 0; r < 4; ++r) {
      d[r] = wd * a[r][i].d;
      dmin[r] = wdmin * a[r][i].d;
    }
    for (int j = 0; j < 4; ++j) {
      const __m256i q = Load32(w[i].qs + 32 * j);
      const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      const __m256i s0 = _mm256_set1_epi16(sc[2 * j]), s1 = _mm256_set1_epi16(sc[2 * j + 1]);
      __m256i p[4];
      for (int r = 0; r < 4; ++r) {
        const int8_t* qa = a[r][i].qs + 64 * j;
        p[r] = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, Load32(qa)), s0),
                                _mm256_madd_epi16(_mm256_maddubs_epi16(hi, Load32(qa + 32)), s1));
      }
      alignas(16) int sumi[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(sumi), HSum4I32(p[0], p[1], p[2], p[3]));
      for (int r = 0; r < 4; ++r) {
        const int16_t* bs = a[r][i].bsums + 4 * j;
        const int mins = mn[2 * j] * (bs[0] + bs[1]) + mn[2 * j + 1] * (bs[2] + bs[3]);
        acc[r] = std::fma(static_cast<float>(sumi[r]), d[r], acc[r]);
        acc_min[r] = std::fma(static_cast<float>(mins), dmin[r], acc_min[r]);
      }
    }
  }
  for (int r = 0; r < 4; ++r) out[r] = acc[r] - acc_min[r];
}

// Dot4Q4_K for two weight rows at once (the same sums in the same order per output), so each activation load
// feeds both rows. The eight outputs live in the lanes of one vector, lane k = (weight row k % 2, activation
// row k / 2): their integer sums (reduced by hadds: exact, whatever the grouping), the min corrections
// (madd of (min, min) pairs with pairs of bsum sums) and the two fma chains per output are lane-wise the same
// operations as Dot4Q4_K's scalar ones, so the results are identical to it.
void Tile24Q4_K(int n, const void* vw, size_t w_stride, const void* va, size_t a_stride, float* out, size_t out_stride) {
  const BlockQ4_K* w[2] = {static_cast<const BlockQ4_K*>(vw),
                           reinterpret_cast<const BlockQ4_K*>(static_cast<const uint8_t*>(vw) + w_stride)};
  const BlockQ8_K* a[4];
  ActRows(va, a_stride, a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
  __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
  for (int i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[2][8], mn[2][8];
    for (int x = 0; x < 2; ++x)
      for (int j = 0; j < 8; ++j) ScaleMinK4(j, w[x][i].scales, &sc[x][j], &mn[x][j]);
    const float wd0 = Half(w[0][i].d), wd1 = Half(w[1][i].d);
    const float wm0 = Half(w[0][i].dmin), wm1 = Half(w[1][i].dmin);
    const __m256 ad = _mm256_permutevar8x32_ps(
        _mm256_castps128_ps256(_mm_setr_ps(a[0][i].d, a[1][i].d, a[2][i].d, a[3][i].d)), dup);
    const __m256 d = _mm256_mul_ps(_mm256_setr_ps(wd0, wd1, wd0, wd1, wd0, wd1, wd0, wd1), ad);
    const __m256 dmin = _mm256_mul_ps(_mm256_setr_ps(wm0, wm1, wm0, wm1, wm0, wm1, wm0, wm1), ad);
    // Per activation row, the eight sums of bsum pairs as int16, two per 32-bit lane: lane j holds the pair that
    // sub-blocks 2j and 2j + 1 need. Transposed so that pj[j] holds lane j of the four rows.
    __m128i ps[4];
    for (int r = 0; r < 4; ++r) {
      const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[r][i].bsums));
      const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[r][i].bsums + 8));
      ps[r] = _mm_hadd_epi16(b0, b1);
    }
    const __m128i t0 = _mm_unpacklo_epi32(ps[0], ps[1]), t1 = _mm_unpackhi_epi32(ps[0], ps[1]);
    const __m128i t2 = _mm_unpacklo_epi32(ps[2], ps[3]), t3 = _mm_unpackhi_epi32(ps[2], ps[3]);
    const __m128i pj[4] = {_mm_unpacklo_epi64(t0, t2), _mm_unpackhi_epi64(t0, t2), _mm_unpacklo_epi64(t1, t3),
                           _mm_unpackhi_epi64(t1, t3)};
    for (int j = 0; j < 4; ++j) {
      const __m256i q0 = Load32(w[0][i].qs + 32 * j), q1 = Load32(w[1][i].qs + 32 * j);
      const __m256i lo0 = _mm256_and_si256(q0, m4), hi0 = _mm256_and_si256(_mm256_srli_epi16(q0, 4), m4);
      const __m256i lo1 = _mm256_and_si256(q1, m4), hi1 = _mm256_and_si256(_mm256_srli_epi16(q1, 4), m4);
      const __m256i s00 = _mm256_set1_epi16(sc[0][2 * j]), s01 = _mm256_set1_epi16(sc[0][2 * j + 1]);
      const __m256i s10 = _mm256_set1_epi16(sc[1][2 * j]), s11 = _mm256_set1_epi16(sc[1][2 * j + 1]);
      __m256i h[4];
      for (int r = 0; r < 4; ++r) {
        const int8_t* qa = a[r][i].qs + 64 * j;
        const __m256i y0 = Load32(qa), y1 = Load32(qa + 32);
        const __m256i p0 = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo0, y0), s00),
                                            _mm256_madd_epi16(_mm256_maddubs_epi16(hi0, y1), s01));
        const __m256i p1 = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo1, y0), s10),
                                            _mm256_madd_epi16(_mm256_maddubs_epi16(hi1, y1), s11));
        h[r] = _mm256_hadd_epi32(p0, p1);
      }
      // Per 128-bit half, hadd(h0, h1) holds the partial sums of (row 0, act 0), (row 1, act 0), (row 0, act 1),
      // (row 1, act 1); the two halves added give the whole sums.
      const __m256i g01 = _mm256_hadd_epi32(h[0], h[1]), g23 = _mm256_hadd_epi32(h[2], h[3]);
      const __m256i sumi =
          _mm256_set_m128i(_mm_add_epi32(_mm256_castsi256_si128(g23), _mm256_extracti128_si256(g23, 1)),
                           _mm_add_epi32(_mm256_castsi256_si128(g01), _mm256_extracti128_si256(g01, 1)));
      const int m0 = mn[0][2 * j] | (mn[0][2 * j + 1] << 16), m1 = mn[1][2 * j] | (mn[1][2 * j + 1] << 16);
      const __m256i mins = _mm256_madd_epi16(_mm256_setr_epi32(m0, m1, m0, m1, m0, m1, m0, m1),
                                             _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(pj[j]), dup));
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), d, acc);
      acc_min = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), dmin, acc_min);
    }
  }
  alignas(32) float res[8];
  _mm256_store_ps(res, _mm256_sub_ps(acc, acc_min));
  for (int k = 0; k < 8; ++k) out[(k % 2) * out_stride + k / 2] = res[k];
}

// Q6_K for four activation rows: each super-block's 6-bit weights and scales are unpacked once for all four.
// kBatchOrder = false: each row's float lanes get the same fmas as DotQ6_K (identical to four calls of it);
// true: llama.cpp's tiled order, as DotQ6_KBatch.
template <bool kBatchOrder>
void Dot4Q6_KOrder(int n, const void* vw, const void* va, size_t stride, float* out) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const BlockQ8_K* a[4];
  ActRows(va, stride, a);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  float sum[4] = {0, 0, 0, 0};
  for (int i = 0; i < n / kQK_K; ++i) {
    const int8_t* sc = w[i].scales;
    __m256i sumi[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                       _mm256_setzero_si256()};
    for (int h = 0; h < 2; ++h) {
      __m256i q[4];
      Q6KUnpack(w[i], h, q);
      for (int k = 0; k < 4; ++k) {
        const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[8 * h + 2 * k + 1]), _mm_set1_epi16(sc[8 * h + 2 * k]));
        for (int r = 0; r < 4; ++r) {
          const __m256i p = _mm256_maddubs_epi16(q[k], Load32(a[r][i].qs + 128 * h + 32 * k));
          sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(p, s));
        }
      }
    }
    const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const float wd = Half(w[i].d);
    for (int r = 0; r < 4; ++r) {
      const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(Load32(a[r][i].bsums), scales16), 5);
      const __m256i lanes = _mm256_sub_epi32(sumi[r], corr);
      if (kBatchOrder) {
        sum[r] = std::fma(wd * static_cast<float>(HSumI32(lanes)), a[r][i].d, sum[r]);
      } else {
        acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(a[r][i].d * wd), _mm256_cvtepi32_ps(lanes), acc[r]);
      }
    }
  }
  for (int r = 0; r < 4; ++r) out[r] = kBatchOrder ? sum[r] : HSum(acc[r]);
}

void Dot4Q6_K(int n, const void* vw, const void* va, size_t stride, float* out) {
  Dot4Q6_KOrder<false>(n, vw, va, stride, out);
}
void Dot4Q6_KBatch(int n, const void* vw, const void* va, size_t stride, float* out) {
  Dot4Q6_KOrder<true>(n, vw, va, stride, out);
}

// ---- Two weight rows against four activation rows: each unpacked weight block is used four times and each
// activation block twice, with eight accumulators held in registers.

struct UnpackQ4_0 {
  static __m256i Get(const BlockQ4_0& b) { return _mm256_sub_epi8(Nibbles(b.qs), _mm256_set1_epi8(8)); }
};
struct UnpackQ5_0 {
  static __m256i Get(const BlockQ5_0& b) {
    const __m256i hi = _mm256_andnot_si256(BitsToBytes(b.qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    return _mm256_or_si256(Nibbles(b.qs), hi);
  }
};
struct UnpackQ8_0 {
  static __m256i Get(const BlockQ8_0& b) { return Load32(b.qs); }
};

// The scale products d_w * d_a of the eight outputs come from one vector multiply (the same float products as
// scalar ones) and are stored, so each output's fma broadcasts its own from memory: a load, not an ALU op.
template <class Block, class Unpack>
void Tile24Q0(int n, const void* vw, size_t w_stride, const void* va, size_t a_stride, float* out, size_t out_stride) {
  const auto* w0 = static_cast<const Block*>(vw);
  const auto* w1 = reinterpret_cast<const Block*>(static_cast<const uint8_t*>(vw) + w_stride);
  const BlockQ8_0* a[4];
  ActRows(va, a_stride, a);
  const __m256i rows = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  __m256 acc[2][4];
  for (auto& row : acc)
    for (auto& v : row) v = _mm256_setzero_ps();
  alignas(32) float d[8];  // d[4 r + c] = d_w(row r) * d_a(act c)
  for (int i = 0; i < n / kQK; ++i) {
    const __m128 da = _mm_cvtph_ps(_mm_setr_epi16(static_cast<short>(a[0][i].d), static_cast<short>(a[1][i].d),
                                                  static_cast<short>(a[2][i].d), static_cast<short>(a[3][i].d), 0, 0,
                                                  0, 0));
    const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(static_cast<short>(w0[i].d), static_cast<short>(w1[i].d), 0, 0,
                                                  0, 0, 0, 0));
    _mm256_store_ps(d, _mm256_mul_ps(_mm256_permutevar8x32_ps(_mm256_castps128_ps256(dw), rows),
                                     _mm256_set_m128(da, da)));
    const __m256i q0 = Unpack::Get(w0[i]), q1 = Unpack::Get(w1[i]);
    const __m256i u0 = _mm256_sign_epi8(q0, q0), u1 = _mm256_sign_epi8(q1, q1);
    for (int c = 0; c < 4; ++c) {
      const __m256i y = Load32(a[c][i].qs);
      const __m256 p0 = _mm256_cvtepi32_ps(MulSumU8I8(u0, _mm256_sign_epi8(y, q0)));
      const __m256 p1 = _mm256_cvtepi32_ps(MulSumU8I8(u1, _mm256_sign_epi8(y, q1)));
      acc[0][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(d + c), p0, acc[0][c]);
      acc[1][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(d + 4 + c), p1, acc[1][c]);
    }
  }
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) out[r * out_stride + c] = HSum(acc[r][c]);
}

void Tile24Q4_1(int n, const void* vw, size_t w_stride, const void* va, size_t a_stride, float* out, size_t out_stride) {
  const auto* w0 = static_cast<const BlockQ4_1*>(vw);
  const auto* w1 = reinterpret_cast<const BlockQ4_1*>(static_cast<const uint8_t*>(vw) + w_stride);
  const auto* ab = static_cast<const uint8_t*>(va);
  __m256 acc[2][4];
  for (auto& row : acc)
    for (auto& v : row) v = _mm256_setzero_ps();
  float mins[2][4] = {};
  for (int i = 0; i < n / kQK; ++i) {
    const __m256i q0 = Nibbles(w0[i].qs), q1 = Nibbles(w1[i].qs);
    const float d0 = Half(w0[i].d), d1 = Half(w1[i].d), m0 = Half(w0[i].m), m1 = Half(w1[i].m);
    for (int c = 0; c < 4; ++c) {
      const BlockQ8_1& a = reinterpret_cast<const BlockQ8_1*>(ab + a_stride * c)[i];
      const __m256i y = Load32(a.qs);
      const float da = Half(a.d), sa = Half(a.s);
      mins[0][c] = std::fma(m0, sa, mins[0][c]);
      mins[1][c] = std::fma(m1, sa, mins[1][c]);
      acc[0][c] = _mm256_fmadd_ps(_mm256_set1_ps(d0 * da), _mm256_cvtepi32_ps(MulSumU8I8(q0, y)), acc[0][c]);
      acc[1][c] = _mm256_fmadd_ps(_mm256_set1_ps(d1 * da), _mm256_cvtepi32_ps(MulSumU8I8(q1, y)), acc[1][c]);
    }
  }
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) out[r * out_stride + c] = HSum(acc[r][c]) + mins[r][c];
}


// e^x for 8 lanes, bit-compatible with ggml's vectorized expf (the same algorithm: a round-to-nearest trick
// splits x = n ln2 + b with a two-constant ln2, e^b - 1 by a degree-5 polynomial in b, and 2^n assembled in the
// exponent bits, with a slower branch that rescales when |n| > 126). Exactness matters: softmax and SiLU feed
// values that are re-quantized to 8 bits, where one differing rounding changes later tokens.
inline __m256 ExpGgml8(__m256 x) {
  const __m256 shifter = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shifter);
  const __m256 n = _mm256_sub_ps(z, shifter);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.f), n);
  const __m256 big = _mm256_cmp_ps(abs_n, _mm256_set1_ps(126), _CMP_GT_OQ);
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 hi = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)),
                                    u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f)));
  const __m256 j = _mm256_fmadd_ps(hi, u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
  if (!_mm256_movemask_ps(big)) return _mm256_fmadd_ps(j, k, k);
  const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                     _mm256_set1_epi32(static_cast<int>(0x82000000u)));
  const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
  const __m256 huge = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192), _CMP_GT_OQ);
  const __m256 scaled = _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1);
  const __m256 normal = _mm256_fmadd_ps(k, j, k);
  const __m256 mid = _mm256_or_ps(_mm256_and_ps(big, scaled), _mm256_andnot_ps(big, normal));
  return _mm256_or_ps(_mm256_and_ps(huge, _mm256_mul_ps(s1, s1)), _mm256_andnot_ps(huge, mid));
}

void SwiGlu(int n, float* g, const float* u) {
  int i = 0;
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(g + i);
    const __m256 e = ExpGgml8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
  }
  for (; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

// Horizontal sums in the two association orders llama.cpp uses.
// Tree "hsum": ((x0+x4)+(x2+x6)) + ((x1+x5)+(x3+x7)).
// Tree "hadd": ((x0+x4)+(x1+x5)) + ((x2+x6)+(x3+x7)).
inline float HAddSum(__m256 v) {
  const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t1 = _mm_hadd_ps(t0, t0);
  return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

// Dot of hd halves with hd floats: `batched` follows llama.cpp's tinyBLAS (one accumulator, hsum), otherwise its
// vec_dot_f16 (four accumulators over 32-element steps, pairwise reduction, hadd).
inline float DotHalfExact(int hd, const uint16_t* k, const float* q, bool batched) {
  if (batched || hd % 32 != 0) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += 8) acc = _mm256_fmadd_ps(LoadHalf8(k + i), _mm256_loadu_ps(q + i), acc);
    return HSum(acc);
  }
  __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int i = 0; i < hd; i += 32)
    for (int a = 0; a < 4; ++a) s[a] = _mm256_fmadd_ps(LoadHalf8(k + i + 8 * a), _mm256_loadu_ps(q + i + 8 * a), s[a]);
  s[0] = _mm256_add_ps(s[0], s[2]);
  s[1] = _mm256_add_ps(s[1], s[3]);
  return HAddSum(_mm256_add_ps(s[0], s[1]));
}

// Softmax of each of the G rows of `s` in place, then rounding to fp16 (llama.cpp hands the weights to an f16
// matmul with V). Rows are `n` long and already padded to a multiple of 8 with -inf; each 8-lane chunk is summed
// as a tree and added to a double, as ggml's soft_max does.
void SoftmaxRowsToHalf(int G, int n, float* s) {
  for (int g = 0; g < G; ++g) {
    float* r = s + static_cast<size_t>(g) * n;
    float mx = -INFINITY;
    for (int j = 0; j < n; ++j) mx = r[j] > mx ? r[j] : mx;
    const __m256 vmx = _mm256_set1_ps(mx);
    double sum = 0;
    for (int j = 0; j < n; j += 8) {
      const __m256 e = ExpGgml8(_mm256_sub_ps(_mm256_loadu_ps(r + j), vmx));
      _mm256_storeu_ps(r + j, e);
      sum += HSum(e);
    }
    const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / sum));
    for (int j = 0; j < n; j += 8)
      _mm256_storeu_ps(r + j, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(r + j), inv),
                                                              _MM_FROUND_TO_NEAREST_INT)));
  }
}

// Attention with llama.cpp's arithmetic (its non-flash path): scores q.k in the order of the path it would take
// (decode: vec_dot_f16; batch: tinyBLAS), scaled, soft-maxed with its exp, weights rounded to fp16, and the
// weighted sum of V accumulated per output dimension with positions spread over lanes exactly as its kernels do
// (batch: lane = j % 8, one accumulator; decode: accumulator (j / 8) % 4, lane j % 8). Positions before `first`
// are masked. Vectorized along the head dimension; requires hd % 8 == 0.
void AttendExact(int hd, int G, const float* q, const uint16_t* k, const uint16_t* v, size_t stride, int first,
                 int n_pos, float scale, float softcap, bool batched, float* scratch, float* out) {
  if (hd % 8 != 0)
    return ScalarTable().attend(hd, G, q, k, v, stride, first, n_pos, scale, softcap, batched, scratch, out);
  const int n = (n_pos + 7) & ~7;
  for (int g = 0; g < G; ++g) {
    float* sc = scratch + static_cast<size_t>(g) * n;
    for (int j = 0; j < n; ++j) sc[j] = -INFINITY;
  }
  if (batched && hd % 8 == 0 && G <= 4) {
    // One serial fma chain per score (tinyBLAS's order); the G heads of a position share each k load and run
    // their chains side by side, two positions at a time.
    for (int j = first; j < n_pos; j += 2) {
      const int np = std::min(2, n_pos - j);
      __m256 acc[2][4];
      for (auto& row : acc)
        for (auto& a : row) a = _mm256_setzero_ps();
      for (int i = 0; i < hd; i += 8) {
        for (int p = 0; p < np; ++p) {
          const __m256 kv = LoadHalf8(k + static_cast<size_t>(j + p) * stride + i);
          for (int g = 0; g < G; ++g)
            acc[p][g] = _mm256_fmadd_ps(kv, _mm256_loadu_ps(q + static_cast<size_t>(g) * hd + i), acc[p][g]);
        }
      }
      for (int p = 0; p < np; ++p)
        for (int g = 0; g < G; ++g) scratch[static_cast<size_t>(g) * n + j + p] = HSum(acc[p][g]) * scale;
    }
  } else {
    for (int g = 0; g < G; ++g) {
      float* sc = scratch + static_cast<size_t>(g) * n;
      for (int j = first; j < n_pos; ++j)
        sc[j] = DotHalfExact(hd, k + j * stride, q + static_cast<size_t>(g) * hd, batched) * scale;
    }
  }
  if (softcap > 0)  // the unmasked scores only: a masked one stays -inf
    for (int g = 0; g < G; ++g) SoftCap(n_pos - first, softcap, scratch + static_cast<size_t>(g) * n + first);
  SoftmaxRowsToHalf(G, n, scratch);
  // Position j adds its weighted v row into slot j % slots (batched: 8 slots; decoding: 32, as ((j/8) % 4) * 8
  // + j % 8, which is the same residue), each slot summing its positions in increasing order. The sums are kept
  // in registers (16 floats of one slot for all G heads, which share each converted v row; or 32 floats of one
  // head): the same fmas in the same order as updating all slots position by position, without a load and a
  // store around each.
  const int slots = batched ? 8 : 32;
  float* acc = scratch + static_cast<size_t>(G) * n;  // [G][slots][hd]
  const int j0 = first & ~7;
  auto first_of = [&](int slot) { return j0 + ((slot - j0) % slots + slots) % slots; };  // a slot's first position
  if (G <= 4 && hd % 16 == 0) {
    // The G heads share each converted v row: 16 floats of one slot for every head at a time.
    for (int slot = 0; slot < slots; ++slot) {
      const int js = first_of(slot);
      for (int i = 0; i < hd; i += 16) {
        __m256 s[4][2];
        for (auto& h : s) h[0] = h[1] = _mm256_setzero_ps();
        for (int j = js; j < n_pos; j += slots) {
          const uint16_t* vr = v + static_cast<size_t>(j) * stride + i;
          const __m256 v0 = LoadHalf8(vr), v1 = LoadHalf8(vr + 8);
          for (int g = 0; g < G; ++g) {
            const __m256 p = _mm256_broadcast_ss(scratch + static_cast<size_t>(g) * n + j);
            s[g][0] = _mm256_fmadd_ps(v0, p, s[g][0]);
            s[g][1] = _mm256_fmadd_ps(v1, p, s[g][1]);
          }
        }
        for (int g = 0; g < G; ++g) {
          float* a = acc + (static_cast<size_t>(g) * slots + slot) * hd + i;
          _mm256_storeu_ps(a, s[g][0]);
          _mm256_storeu_ps(a + 8, s[g][1]);
        }
      }
    }
  } else {
    for (int g = 0; g < G; ++g) {
      const float* prob = scratch + static_cast<size_t>(g) * n;
      for (int slot = 0; slot < slots; ++slot) {
        const int js = first_of(slot);
        float* a = acc + (static_cast<size_t>(g) * slots + slot) * hd;
        for (int i = 0; i < hd; i += 32) {
          const int w = std::min(32, hd - i);  // hd % 8 == 0
          __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
          for (int j = js; j < n_pos; j += slots) {
            const __m256 p = _mm256_set1_ps(prob[j]);
            const uint16_t* vr = v + static_cast<size_t>(j) * stride + i;
            s0 = _mm256_fmadd_ps(LoadHalf8(vr), p, s0);
            if (w > 8) s1 = _mm256_fmadd_ps(LoadHalf8(vr + 8), p, s1);
            if (w > 16) s2 = _mm256_fmadd_ps(LoadHalf8(vr + 16), p, s2);
            if (w > 24) s3 = _mm256_fmadd_ps(LoadHalf8(vr + 24), p, s3);
          }
          _mm256_storeu_ps(a + i, s0);
          if (w > 8) _mm256_storeu_ps(a + i + 8, s1);
          if (w > 16) _mm256_storeu_ps(a + i + 16, s2);
          if (w > 24) _mm256_storeu_ps(a + i + 24, s3);
        }
      }
    }
  }
  for (int g = 0; g < G; ++g) {
    float* a = acc + static_cast<size_t>(g) * slots * hd;
    float* o = out + static_cast<size_t>(g) * hd;
    auto at = [&](int slot, int i) { return _mm256_loadu_ps(a + static_cast<size_t>(slot) * hd + i); };
    for (int i = 0; i < hd; i += 8) {
      __m256 x[8];
      if (batched) {
        for (int l = 0; l < 8; ++l) x[l] = at(l, i);
      } else {  // sum[a] += sum[a + 2]; sum[0] += sum[1], lane by lane
        for (int l = 0; l < 8; ++l)
          x[l] = _mm256_add_ps(_mm256_add_ps(at(l, i), at(16 + l, i)), _mm256_add_ps(at(8 + l, i), at(24 + l, i)));
      }
      const __m256 t0 = _mm256_add_ps(x[0], x[4]), t1 = _mm256_add_ps(x[1], x[5]);
      const __m256 t2 = _mm256_add_ps(x[2], x[6]), t3 = _mm256_add_ps(x[3], x[7]);
      const __m256 r = batched ? _mm256_add_ps(_mm256_add_ps(t0, t2), _mm256_add_ps(t1, t3))
                               : _mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3));
      _mm256_storeu_ps(o + i, r);
    }
  }
}

// ---- Activation quantizers: the scalar ones' results byte for byte (max |x| is exact in any order; the products
// and divisions are the same IEEE operations; _mm256_cvtps_epi32 rounds half to even as nearbyint does in the
// default rounding mode), 8 values per instruction instead of a libm call per value.

inline float MaxAbs(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  __m256 m = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
  const __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  const __m128 q = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(q, _mm_movehdup_ps(q)));
}

// 32 floats times `scale`, rounded to int32 (half to even), packed to int8 in order. Also returns their sum.
inline int Round32(const float* x, __m256 scale, int8_t* out) {
  const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), scale));
  const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), scale));
  const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), scale));
  const __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), scale));
  const __m256i packed = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d)),
                                                     _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), packed);
  return HSumI32(_mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d)));
}

void QuantizeQ8_0(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float amax = MaxAbs(x, kQK);
    y[i].d = Fp32ToFp16(amax / 127.f);
    Round32(x, _mm256_set1_ps(amax != 0 ? 127.f / amax : 0.f), y[i].qs);
  }
}

void QuantizeQ8_1(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float amax = MaxAbs(x, kQK);
    const float d = amax / 127.f;
    y[i].d = Fp32ToFp16(d);
    const int sum = Round32(x, _mm256_set1_ps(amax != 0 ? 127.f / amax : 0.f), y[i].qs);
    y[i].s = Fp32ToFp16(d * static_cast<float>(sum));
  }
}

void QuantizeQ8_K(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(vy);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const float amax = MaxAbs(x, kQK_K);
    if (amax == 0) {
      std::memset(&y[i], 0, sizeof(y[i]));
      continue;
    }
    // The signed value of the first element with the largest magnitude, as the scalar scan picks it.
    float max = 0;
    const __m256 sign = _mm256_set1_ps(-0.f), target = _mm256_set1_ps(amax);
    for (int j = 0; j < kQK_K; j += 8) {
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), target, _CMP_EQ_OQ));
      if (hit) {
        max = x[j + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i cap = _mm256_set1_epi32(127);
    for (int j = 0; j < kQK_K; j += 16) {
      const __m256i a = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j), vs)), cap);
      const __m256i b = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8), vs)), cap);
      const __m128i p = _mm_packs_epi16(_mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)),
                                        _mm_packs_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + j), p);
      y[i].bsums[j / 16] = static_cast<int16_t>(HSumI32(_mm256_add_epi32(a, b)));
    }
    y[i].d = 1 / iscale;
  }
}

// Q4_0 kernels for matrices llama.cpp does not repack: single rows and 2 x 4 tiles in the vec_dot/tinyBLAS order.
const DotKernel* Q4_0Unrepacked() {
  static const DotKernel k = [] {
    DotKernel d;
    d.act_type = TensorType::kQ8_0;
    d.quantize = QuantizeQ8_0;
    d.dot = DotQ4_0Unrepacked;
    d.tile24 = Tile24Q0<BlockQ4_0, UnpackQ4_0>;
    return d;
  }();
  return &k;
}

KernelTable MakeTable() {
  KernelTable t = ScalarTable();  // the quantizers below give the scalar ones' bytes (llama.cpp's rounding)
  auto set = [&](TensorType w, VecDotFn d) { t.by_type[static_cast<int>(w)].dot = d; };
  set(TensorType::kF32, DotF32W);
  set(TensorType::kF16, DotF16W);
  set(TensorType::kBF16, DotBF16W);
  set(TensorType::kQ4_0, DotQ4_0);
  set(TensorType::kQ4_1, DotQ4_1);
  set(TensorType::kQ5_0, DotQ5_0);
  set(TensorType::kQ5_1, DotQ5_1);
  set(TensorType::kQ8_0, DotQ8_0);
  set(TensorType::kQ4_K, DotQ4_K);
  set(TensorType::kQ5_K, DotQ5_K);
  set(TensorType::kQ6_K, DotQ6_K);
  auto set4 = [&](TensorType w, VecDot4Fn d) { t.by_type[static_cast<int>(w)].dot4 = d; };
  set4(TensorType::kQ4_0, Dot4Q4_0);
  set4(TensorType::kQ4_1, Dot4Q4_1);
  set4(TensorType::kQ5_0, Dot4Q5_0);
  set4(TensorType::kQ8_0, Dot4Q8_0);
  set4(TensorType::kQ4_K, Dot4Q4_K);
  set4(TensorType::kQ6_K, Dot4Q6_K);
  t.by_type[static_cast<int>(TensorType::kQ6_K)].dot_batch = DotQ6_KBatch;
  t.by_type[static_cast<int>(TensorType::kQ6_K)].dot4_batch = Dot4Q6_KBatch;
  t.by_type[static_cast<int>(TensorType::kQ5_K)].dot_batch = DotQ5_KBatch;
  t.by_type[static_cast<int>(TensorType::kQ5_K)].dot4_batch = Dot4Q5_KBatch;
  auto tile = [&](TensorType w, VecTile24Fn f) { t.by_type[static_cast<int>(w)].tile24 = f; };
  tile(TensorType::kQ4_0, Tile24Q4_0);
  t.by_type[static_cast<int>(TensorType::kQ4_0)].unrepacked = Q4_0Unrepacked();
  tile(TensorType::kQ5_0, Tile24Q0<BlockQ5_0, UnpackQ5_0>);
  tile(TensorType::kQ8_0, Tile24Q0<BlockQ8_0, UnpackQ8_0>);
  tile(TensorType::kQ4_1, Tile24Q4_1);
  tile(TensorType::kQ4_K, Tile24Q4_K);
  const char* no512 = std::getenv("TANDEM_NO_AVX512");
  if (CpuHasAvx512Vnni() && !(no512 && std::strcmp(no512, "1") == 0)) {
    t.by_type[static_cast<int>(TensorType::kQ4_K)].panel16 = Avx512PanelQ4_K();
    t.by_type[static_cast<int>(TensorType::kQ5_0)].panel16 = Avx512PanelQ5_0();
    t.by_type[static_cast<int>(TensorType::kQ8_0)].panel16 = Avx512PanelQ8_0();
    t.by_type[static_cast<int>(TensorType::kQ6_K)].panel16_batch = Avx512PanelQ6_KBatch();
  }
  // Decode rows of a batched step need dot()'s own results: dot4 gives them for every format but Q4_K.
  for (DotKernel& k : t.by_type) k.dot4_decode = k.dot4;
  t.by_type[static_cast<int>(TensorType::kQ4_K)].dot4_decode = Dot4Q4_KDecode;
  for (DotKernel& k : t.by_type) {
    if (k.act_type == TensorType::kQ8_0) k.quantize = QuantizeQ8_0;
    if (k.act_type == TensorType::kQ8_1) k.quantize = QuantizeQ8_1;
    if (k.act_type == TensorType::kQ8_K) k.quantize = QuantizeQ8_K;
  }
  t.dot_f32 = DotF32;
  t.dot_f16_f32 = DotF16F32;
  t.axpy_f16 = AxpyF16;
  t.fp32_to_fp16 = Fp32ToFp16Row;
  t.attend = AttendExact;
  t.swiglu = SwiGlu;
  return t;
}

}  // namespace

const KernelTable* Avx2Table() {
  static const KernelTable table = MakeTable();
  return &table;
}

}  // namespace tandem::engine::detail

#else  // built without AVX2 (another architecture): the scalar kernels serve alone.
namespace tandem::engine::detail {
const KernelTable* Avx2Table() { return nullptr; }
}  // namespace tandem::engine::detail
#endif
