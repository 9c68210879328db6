// AVX2 + FMA + F16C dot-product kernels. This file alone is compiled with -mavx2 -mfma -mf16c (see
// CMakeLists); nothing here runs unless CpuHasAvx2() said yes. Every function is file-local so no AVX2 code
// can leak into an inline function shared with the portable build.
#include "engine/kernels/vec_dot.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/dequant.h"
#include "engine/kernels/fp16.h"
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

float DotQ4_0(int n, const void* vw, const void* va) {
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

float DotQ4_1(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_1*>(vw);
  const auto* a = static_cast<const BlockQ8_1*>(va);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int i = 0; i < n / kQK; ++i) {
    mins += Half(w[i].m) * Half(a[i].s);
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
    mins += Half(w[i].m) * Half(a[i].s);
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

float DotQ4_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0;
  for (int i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) ScaleMinK4(j, w[i].scales, &sc[j], &mn[j]);
    acc_min += a[i].d * Half(w[i].dmin) * static_cast<float>(KMins(mn, a[i].bsums));
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q = Load32(w[i].qs + 32 * j);
      const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      const __m256i p0 = _mm256_maddubs_epi16(lo, Load32(a[i].qs + 64 * j));
      const __m256i p1 = _mm256_maddubs_epi16(hi, Load32(a[i].qs + 64 * j + 32));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * j])));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * j + 1])));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[i].d * Half(w[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return HSum(acc) - acc_min;
}

float DotQ5_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0;
  for (int i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) ScaleMinK4(j, w[i].scales, &sc[j], &mn[j]);
    acc_min += a[i].d * Half(w[i].dmin) * static_cast<float>(KMins(mn, a[i].bsums));
    const __m256i qh = Load32(w[i].qh);
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q = Load32(w[i].qs + 32 * j);
      const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4);
      const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
      const __m256i p0 = _mm256_maddubs_epi16(lo, Load32(a[i].qs + 64 * j));
      const __m256i p1 = _mm256_maddubs_epi16(hi, Load32(a[i].qs + 64 * j + 32));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * j])));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * j + 1])));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[i].d * Half(w[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return HSum(acc) - acc_min;
}

float DotQ6_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
  float acc = 0;
  for (int i = 0; i < n / kQK_K; ++i) {
    const int8_t* sc = w[i].scales;
    // Values are stored +32; subtract 32 * sum(activations) per 16-element group afterwards.
    int bias = 0;
    for (int g = 0; g < 16; ++g) bias += sc[g] * a[i].bsums[g];
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[i].ql + 64 * h;
      const __m256i l0 = Load32(ql), l1 = Load32(ql + 32), qh = Load32(w[i].qh + 32 * h);
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
      for (int k = 0; k < 4; ++k) {
        const __m256i p = _mm256_maddubs_epi16(q[k], Load32(a[i].qs + 128 * h + 32 * k));
        const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[8 * h + 2 * k + 1]), _mm_set1_epi16(sc[8 * h + 2 * k]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
      }
    }
    const int total = HSumI32(sumi) - 32 * bias;
    acc += a[i].d * Half(w[i].d) * static_cast<float>(total);
  }
  return acc;
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

void AxpyF16(int n, float a, const uint16_t* x, float* y) {
  const __m256 va = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, LoadHalf8(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * Half(x[i]);
}

KernelTable MakeTable() {
  KernelTable t = ScalarTable();  // quantizers are shared; they already follow llama.cpp's AVX2 rounding
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
  t.dot_f32 = DotF32;
  t.dot_f16_f32 = DotF16F32;
  t.axpy_f16 = AxpyF16;
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
