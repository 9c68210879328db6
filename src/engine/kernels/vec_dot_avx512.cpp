// AVX-512 (F, BW, VNNI) prompt kernels. This file alone is compiled with -mavx512f -mavx512bw -mavx512vnni (see
// CMakeLists); nothing here runs unless CpuHasAvx512Vnni() said yes, and every function is file-local.
//
// A panel kernel multiplies 16 weight rows by many activation rows with one weight row per 32-bit lane, so an
// output needs no horizontal sum: the 16 rows' quants are first transposed (4 bytes of each row per lane) into a
// per-thread buffer, then each activation row's 4-byte groups are broadcast across the lanes and `vpdpbusd`
// accumulates all 16 rows at once. The integers are exact whatever the grouping, and every output's float
// operations are lane-wise those of the AVX2 kernel it replaces, so the results are identical to it bit for bit.
#include "engine/kernels/vec_dot.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
// GCC 12's AVX-512 headers leave an "undefined" vector uninitialized on purpose (_mm512_undefined_*), which
// -Wmaybe-uninitialized reports at every use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "engine/kernels/k_scales_simd.h"

namespace tandem::engine::detail {
namespace {

constexpr int kPanelRows = 16;

// Scratch buffers hold file-local types only: a std::vector<uint8_t> here would emit weak (shared) definitions
// of its members compiled for AVX-512, which the linker may then use everywhere.
struct alignas(64) Line {
  uint8_t b[64];
};

// Per-thread scratch, grown on demand: `count` transposed blocks of one panel type, and one activation row of `n`
// values offset by +128 (vpdpbusd's unsigned operand).
template <class Block>
Block* PanelScratch(int count) {
  thread_local std::vector<Block> blocks;
  if (static_cast<int>(blocks.size()) < count) blocks.resize(static_cast<size_t>(count));
  return blocks.data();
}
uint8_t* ShiftScratch(int n) {
  thread_local std::vector<Line> lines;
  if (static_cast<int>(lines.size()) * 64 < n) lines.resize(static_cast<size_t>(n + 63) / 64);
  return reinterpret_cast<uint8_t*>(lines.data());
}

// One super-block of a Q4_K panel, transposed: q[j][l] lane x holds bytes 32j + 4l .. 32j + 4l + 3 of row x's
// packed nibbles (low nibbles: sub-block 2j, high: 2j + 1); sc/mn[s] lane x is row x's scale/min of sub-block s.
struct alignas(64) PanelQ4K {
  uint32_t q[4][8][kPanelRows];
  int32_t sc[8][kPanelRows], mn[8][kPanelRows];
  float d[kPanelRows], dmin[kPanelRows];
};

void PackQ4K(const BlockQ4_K* const* w, int i, PanelQ4K& p) {
  for (int x = 0; x < kPanelRows; ++x) {
    const BlockQ4_K& b = w[x][i];
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 8; ++l) std::memcpy(&p.q[j][l][x], b.qs + 32 * j + 4 * l, 4);
    uint8_t scm[16];
    ScalesMinsK4(b.scales, scm);
    for (int s = 0; s < 8; ++s) {
      p.sc[s][x] = scm[s];
      p.mn[s][x] = scm[8 + s];
    }
    p.d[x] = _cvtsh_ss(b.d);
    p.dmin[x] = _cvtsh_ss(b.dmin);
  }
}

inline __m512i Bcast(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Tile24Q4_K's sums (llama.cpp's ggml_gemm_q4_K_8x8_q8_K order) for 16 weight rows and T activation rows, T a
// multiple of 4: out[t * out_stride + x] = row x . activation row t.
void PanelQ4_K(int n, const void* vw, size_t w_stride, const void* va, size_t a_stride, int T, float* out,
               size_t out_stride) {
  const int nb = n / kQK_K;
  PanelQ4K* panel = PanelScratch<PanelQ4K>(nb);
  const BlockQ4_K* w[kPanelRows];
  for (int x = 0; x < kPanelRows; ++x)
    w[x] = reinterpret_cast<const BlockQ4_K*>(static_cast<const uint8_t*>(vw) + w_stride * static_cast<size_t>(x));
  for (int i = 0; i < nb; ++i) PackQ4K(w, i, panel[i]);
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int t = 0; t < T; t += 4) {
    const BlockQ8_K* a[4];
    for (int r = 0; r < 4; ++r)
      a[r] = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(va) + a_stride * static_cast<size_t>(t + r));
    __m512 acc[4], acc_min[4];
    for (int r = 0; r < 4; ++r) acc[r] = acc_min[r] = _mm512_setzero_ps();
    for (int i = 0; i < nb; ++i) {
      const PanelQ4K& p = panel[i];
      const __m512 wd = _mm512_load_ps(p.d), wm = _mm512_load_ps(p.dmin);
      __m512 d[4], dmin[4];
      for (int r = 0; r < 4; ++r) {
        const __m512 ad = _mm512_set1_ps(a[r][i].d);
        d[r] = _mm512_mul_ps(wd, ad);
        dmin[r] = _mm512_mul_ps(wm, ad);
      }
      for (int j = 0; j < 4; ++j) {
        __m512i lo[4], hi[4];
        for (int r = 0; r < 4; ++r) lo[r] = hi[r] = _mm512_setzero_si512();
        for (int l = 0; l < 8; ++l) {
          const __m512i q = _mm512_load_si512(p.q[j][l]);
          const __m512i ql = _mm512_and_si512(q, m4), qh = _mm512_and_si512(_mm512_srli_epi32(q, 4), m4);
          for (int r = 0; r < 4; ++r) {
            const int8_t* qa = a[r][i].qs + 64 * j + 4 * l;
            lo[r] = _mm512_dpbusd_epi32(lo[r], ql, Bcast(qa));
            hi[r] = _mm512_dpbusd_epi32(hi[r], qh, Bcast(qa + 32));
          }
        }
        const __m512i s0 = _mm512_load_si512(p.sc[2 * j]), s1 = _mm512_load_si512(p.sc[2 * j + 1]);
        const __m512i n0 = _mm512_load_si512(p.mn[2 * j]), n1 = _mm512_load_si512(p.mn[2 * j + 1]);
        for (int r = 0; r < 4; ++r) {
          const __m512i sumi = _mm512_add_epi32(_mm512_mullo_epi32(lo[r], s0), _mm512_mullo_epi32(hi[r], s1));
          const int16_t* bs = a[r][i].bsums + 4 * j;
          const __m512i mins = _mm512_add_epi32(_mm512_mullo_epi32(n0, _mm512_set1_epi32(bs[0] + bs[1])),
                                                _mm512_mullo_epi32(n1, _mm512_set1_epi32(bs[2] + bs[3])));
          acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), d[r], acc[r]);
          acc_min[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mins), dmin[r], acc_min[r]);
        }
      }
    }
    for (int r = 0; r < 4; ++r)
      _mm512_storeu_ps(out + static_cast<size_t>(t + r) * out_stride, _mm512_sub_ps(acc[r], acc_min[r]));
  }
}

// Activation values with 128 added (vpdpbusd's unsigned operand); n a multiple of 32.
void Shift(const int8_t* from, uint8_t* to, int n) {
  int k = 0;
  for (; k + 64 <= n; k += 64)
    _mm512_storeu_si512(to + k, _mm512_xor_si512(_mm512_loadu_si512(from + k), _mm512_set1_epi8(static_cast<char>(0x80))));
  for (; k < n; k += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + k),
                        _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + k)),
                                         _mm256_set1_epi8(static_cast<char>(0x80))));
}

// The 32 signed values of a Q5_0 or Q8_0 block.
inline void Values(const BlockQ8_0& b, int8_t* v) { std::memcpy(v, b.qs, kQK); }
inline void Values(const BlockQ5_0& b, int8_t* v) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  for (int j = 0; j < kQK / 2; ++j) {
    v[j] = static_cast<int8_t>(((b.qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - 16);
    v[j + kQK / 2] = static_cast<int8_t>(((b.qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16);
  }
}

// One block of a Q5_0/Q8_0 panel, transposed: q[m] lane x holds values 4m .. 4m + 3 of row x; corr[m] lane x is
// -128 times their sum, the start of a vpdpbusd that multiplies them by activations offset by +128 (unsigned).
struct alignas(64) PanelBlockQ0 {
  uint32_t q[8][kPanelRows];
  int32_t corr[8][kPanelRows];
  float d[kPanelRows];
};

// Tile24Q0's sums (llama.cpp's AVX2 vec_dot_q8_0 order: eight float lanes per output, lane m the fma chain of each
// block's values 4m .. 4m + 3, summed as HSum does) for 16 weight rows and T activation rows.
template <class Block>
void PanelQ0(int n, const void* vw, size_t w_stride, const void* va, size_t a_stride, int T, float* out,
             size_t out_stride) {
  const int nb = n / kQK;
  PanelBlockQ0* panel = PanelScratch<PanelBlockQ0>(nb);
  uint8_t* shifted = ShiftScratch(n);
  for (int x = 0; x < kPanelRows; ++x) {
    const auto* w = reinterpret_cast<const Block*>(static_cast<const uint8_t*>(vw) + w_stride * static_cast<size_t>(x));
    for (int i = 0; i < nb; ++i) {
      PanelBlockQ0& p = panel[i];
      int8_t v[kQK];
      Values(w[i], v);
      for (int m = 0; m < 8; ++m) {
        std::memcpy(&p.q[m][x], v + 4 * m, 4);
        p.corr[m][x] = -128 * (v[4 * m] + v[4 * m + 1] + v[4 * m + 2] + v[4 * m + 3]);
      }
      p.d[x] = _cvtsh_ss(w[i].d);
    }
  }
  for (int t = 0; t < T; ++t) {
    const auto* a = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(va) + a_stride * static_cast<size_t>(t));
    for (int i = 0; i < nb; ++i) Shift(a[i].qs, shifted + kQK * i, kQK);
    __m512 acc[8];
    for (auto& v : acc) v = _mm512_setzero_ps();
    for (int i = 0; i < nb; ++i) {
      const PanelBlockQ0& p = panel[i];
      const __m512 d = _mm512_mul_ps(_mm512_load_ps(p.d), _mm512_set1_ps(_cvtsh_ss(a[i].d)));
      const uint8_t* y = shifted + kQK * i;
      for (int m = 0; m < 8; ++m) {
        int32_t ym;
        std::memcpy(&ym, y + 4 * m, 4);
        const __m512i s = _mm512_dpbusd_epi32(_mm512_load_si512(p.corr[m]), _mm512_set1_epi32(ym),
                                              _mm512_load_si512(p.q[m]));
        acc[m] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc[m]);
      }
    }
    const __m512 s0 = _mm512_add_ps(acc[0], acc[4]), s1 = _mm512_add_ps(acc[1], acc[5]);
    const __m512 s2 = _mm512_add_ps(acc[2], acc[6]), s3 = _mm512_add_ps(acc[3], acc[7]);
    _mm512_storeu_ps(out + static_cast<size_t>(t) * out_stride,
                     _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3)));
  }
}

// The 256 signed values (q - 32) of a Q6_K super-block, in activation order.
inline void Values(const BlockQ6_K& b, int8_t* v) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    int8_t* o = v + 128 * h;
    for (int l = 0; l < 32; ++l) {
      o[l] = static_cast<int8_t>(((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
      o[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      o[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      o[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
}

// One super-block of a Q6_K panel, transposed: q[g] lane x holds row x's values 4g .. 4g + 3; corr[s] lane x is
// -128 times the sum of its sub-block s (16 values); sc[s] lane x that sub-block's scale.
struct alignas(64) PanelBlockQ6K {
  uint32_t q[64][kPanelRows];
  int32_t corr[16][kPanelRows], sc[16][kPanelRows];
  float d[kPanelRows];
};

// DotQ6_KBatch's sums (llama.cpp's tiled order for prompt batches: per super-block the exact integer total, times
// the weight's d, then one fma with the activation's d) for 16 weight rows and T activation rows.
void PanelQ6_KBatch(int n, const void* vw, size_t w_stride, const void* va, size_t a_stride, int T, float* out,
                    size_t out_stride) {
  const int nb = n / kQK_K;
  PanelBlockQ6K* panel = PanelScratch<PanelBlockQ6K>(nb);
  uint8_t* shifted = ShiftScratch(n);
  for (int x = 0; x < kPanelRows; ++x) {
    const auto* w = reinterpret_cast<const BlockQ6_K*>(static_cast<const uint8_t*>(vw) + w_stride * static_cast<size_t>(x));
    for (int i = 0; i < nb; ++i) {
      PanelBlockQ6K& p = panel[i];
      int8_t v[kQK_K];
      Values(w[i], v);
      for (int g = 0; g < 64; ++g) std::memcpy(&p.q[g][x], v + 4 * g, 4);
      for (int sb = 0; sb < 16; ++sb) {
        int sum = 0;
        for (int k = 0; k < 16; ++k) sum += v[16 * sb + k];
        p.corr[sb][x] = -128 * sum;
        p.sc[sb][x] = w[i].scales[sb];
      }
      p.d[x] = _cvtsh_ss(w[i].d);
    }
  }
  for (int t = 0; t < T; ++t) {
    const auto* a = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(va) + a_stride * static_cast<size_t>(t));
    for (int i = 0; i < nb; ++i) Shift(a[i].qs, shifted + kQK_K * i, kQK_K);
    __m512 acc = _mm512_setzero_ps();
    for (int i = 0; i < nb; ++i) {
      const PanelBlockQ6K& p = panel[i];
      const uint8_t* y = shifted + kQK_K * i;
      __m512i isum = _mm512_setzero_si512();
      for (int sb = 0; sb < 16; ++sb) {
        __m512i s = _mm512_load_si512(p.corr[sb]);
        for (int g = 4 * sb; g < 4 * sb + 4; ++g) {
          int32_t yg;
          std::memcpy(&yg, y + 4 * g, 4);
          s = _mm512_dpbusd_epi32(s, _mm512_set1_epi32(yg), _mm512_load_si512(p.q[g]));
        }
        isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(s, _mm512_load_si512(p.sc[sb])));
      }
      const __m512 r = _mm512_mul_ps(_mm512_load_ps(p.d), _mm512_cvtepi32_ps(isum));
      acc = _mm512_fmadd_ps(r, _mm512_set1_ps(a[i].d), acc);
    }
    _mm512_storeu_ps(out + static_cast<size_t>(t) * out_stride, acc);
  }
}

}  // namespace

VecPanelFn Avx512PanelQ4_K() { return PanelQ4_K; }
VecPanelFn Avx512PanelQ6_KBatch() { return PanelQ6_KBatch; }
VecPanelFn Avx512PanelQ5_0() { return PanelQ0<BlockQ5_0>; }
VecPanelFn Avx512PanelQ8_0() { return PanelQ0<BlockQ8_0>; }

}  // namespace tandem::engine::detail

#else  // built without AVX-512 support: no panels.
namespace tandem::engine::detail {
VecPanelFn Avx512PanelQ4_K() { return nullptr; }
VecPanelFn Avx512PanelQ5_0() { return nullptr; }
VecPanelFn Avx512PanelQ8_0() { return nullptr; }
VecPanelFn Avx512PanelQ6_KBatch() { return nullptr; }
}  // namespace tandem::engine::detail
#endif
