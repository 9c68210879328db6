// Portable dot-product kernels: the fallback on CPUs without AVX2, and the reference the AVX2 kernels are tested
// against.
#include <cmath>
#include <cstring>

#include "engine/kernels/dequant.h"
#include "engine/kernels/fp16.h"
#include "engine/kernels/vec_dot.h"

namespace tandem::engine::detail {
namespace {

// The 4- and 5-bit legacy formats: block i's quants j and j + 16 are the low and high nibble of qs[j], Q5 adding
// a fifth bit from qh; Q4_0 and Q5_0 are centred (minus 8 or 16), Q4_1 and Q5_1 carry a minimum m instead, which
// meets the activation block's s = d * sum(qs). The integer sum is exact; the float steps are ggml's.
template <class Block>
inline void Quants(const Block& b, int j, int* lo, int* hi) {
  *lo = b.qs[j] & 0xF;
  *hi = b.qs[j] >> 4;
  if constexpr (requires { b.qh; }) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    *lo |= ((qh >> j) << 4) & 0x10;
    *hi |= (qh >> (j + 12)) & 0x10;
  }
}

template <class Block, class Act, int kOffset>
float DotLegacy(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const Block*>(vw);
  const auto* a = static_cast<const Act*>(va);
  float sum = 0;
  for (int i = 0; i < n / kQK; ++i) {
    int s = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      int lo, hi;
      Quants(w[i], j, &lo, &hi);
      s += (lo - kOffset) * a[i].qs[j] + (hi - kOffset) * a[i].qs[j + kQK / 2];
    }
    if constexpr (requires { w[i].m; }) {
      sum += static_cast<float>(s) * (Fp16ToFp32Fast(w[i].d) * Fp16ToFp32Fast(a[i].d)) +
             Fp16ToFp32Fast(w[i].m) * Fp16ToFp32Fast(a[i].s);
    } else {
      sum += static_cast<float>(s) * (Fp16ToFp32Fast(w[i].d) * Fp16ToFp32Fast(a[i].d));
    }
  }
  return sum;
}

float DotQ8_0(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ8_0*>(vw);
  const auto* a = static_cast<const BlockQ8_0*>(va);
  float sum = 0;
  for (int i = 0; i < n / kQK; ++i) {
    int s = 0;
    for (int j = 0; j < kQK; ++j) s += w[i].qs[j] * a[i].qs[j];
    sum += static_cast<float>(s) * (Fp16ToFp32Fast(w[i].d) * Fp16ToFp32Fast(a[i].d));
  }
  return sum;
}

float DotQ4_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ4_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float acc = 0, acc_min = 0;
  for (int i = 0; i < n / kQK_K; ++i) {
    int sumi = 0, mins = 0;
    const uint8_t* q = w[i].qs;
    const int8_t* y = a[i].qs;
    for (int j = 0; j < 4; ++j, q += 32, y += 64) {
      uint8_t sc0, m0, sc1, m1;
      ScaleMinK4(2 * j, w[i].scales, &sc0, &m0);
      ScaleMinK4(2 * j + 1, w[i].scales, &sc1, &m1);
      int s0 = 0, s1 = 0;
      for (int l = 0; l < 32; ++l) {
        s0 += (q[l] & 0xF) * y[l];
        s1 += (q[l] >> 4) * y[l + 32];
      }
      sumi += sc0 * s0 + sc1 * s1;
      mins += m0 * (a[i].bsums[4 * j] + a[i].bsums[4 * j + 1]) + m1 * (a[i].bsums[4 * j + 2] + a[i].bsums[4 * j + 3]);
    }
    acc = std::fma(static_cast<float>(sumi), Fp16ToFp32Fast(w[i].d) * a[i].d, acc);
    acc_min = std::fma(static_cast<float>(mins), Fp16ToFp32Fast(w[i].dmin) * a[i].d, acc_min);
  }
  return acc - acc_min;
}

// The exact integer sums of one Q5_K super-block with its Q8_K partner: scales applied (*sumi) and the min
// correction (*mins).
void Q5KBlockSums(const BlockQ5_K& w, const BlockQ8_K& a, int* sumi, int* mins) {
  *sumi = *mins = 0;
  const uint8_t* q = w.qs;
  const int8_t* y = a.qs;
  for (int j = 0; j < 4; ++j, q += 32, y += 64) {
    uint8_t sc0, m0, sc1, m1;
    ScaleMinK4(2 * j, w.scales, &sc0, &m0);
    ScaleMinK4(2 * j + 1, w.scales, &sc1, &m1);
    int s0 = 0, s1 = 0;
    for (int l = 0; l < 32; ++l) {
      s0 += ((q[l] & 0xF) | (((w.qh[l] >> (2 * j)) & 1) << 4)) * y[l];
      s1 += ((q[l] >> 4) | (((w.qh[l] >> (2 * j + 1)) & 1) << 4)) * y[l + 32];
    }
    *sumi += sc0 * s0 + sc1 * s1;
    *mins += m0 * (a.bsums[4 * j] + a.bsums[4 * j + 1]) + m1 * (a.bsums[4 * j + 2] + a.bsums[4 * j + 3]);
  }
}

// Q5_K in either of llama.cpp's float orders: vec_dot's (decoding; kTiledOrder false), or its tiled matmul's for
// prompt batches (r = d_w * isum, r = -(dmin_w * mins) + r fused, then one fma with d_a).
template <bool kTiledOrder>
float DotQ5_KOrder(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ5_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int i = 0; i < n / kQK_K; ++i) {
    int sumi, mins;
    Q5KBlockSums(w[i], a[i], &sumi, &mins);
    if constexpr (kTiledOrder) {
      const float res = std::fma(-Fp16ToFp32Fast(w[i].dmin), static_cast<float>(mins),
                                 Fp16ToFp32Fast(w[i].d) * static_cast<float>(sumi));
      sum = std::fma(res, a[i].d, sum);
    } else {
      sum += a[i].d * Fp16ToFp32Fast(w[i].d) * static_cast<float>(sumi) -
             a[i].d * Fp16ToFp32Fast(w[i].dmin) * static_cast<float>(mins);
    }
  }
  return sum;
}

// The exact integer dot of one Q6_K super-block with its Q8_K partner, scales applied.
int Q6KBlockSum(const BlockQ6_K& w, const BlockQ8_K& a) {
  int sumi = 0;
  const uint8_t* ql = w.ql;
  const uint8_t* qh = w.qh;
  const int8_t* sc = w.scales;
  const int8_t* y = a.qs;
  for (int h = 0; h < 2; ++h, ql += 64, qh += 32, sc += 8, y += 128) {
    int s[8] = {};
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      s[is + 0] += (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32) * y[l];
      s[is + 2] += (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * y[l + 32];
      s[is + 4] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * y[l + 64];
      s[is + 6] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * y[l + 96];
    }
    for (int k = 0; k < 8; ++k) sumi += sc[k] * s[k];
  }
  return sumi;
}

float DotQ6_K(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int i = 0; i < n / kQK_K; ++i)
    sum += a[i].d * Fp16ToFp32Fast(w[i].d) * static_cast<float>(Q6KBlockSum(w[i], a[i]));
  return sum;
}

float DotF32(int n, const float* a, const float* b) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
float DotF32W(int n, const void* w, const void* a) {
  return DotF32(n, static_cast<const float*>(w), static_cast<const float*>(a));
}
float DotF16F32(int n, const uint16_t* a, const float* b) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += Fp16ToFp32Fast(a[i]) * b[i];
  return s;
}
float DotF16W(int n, const void* w, const void* a) {
  return DotF16F32(n, static_cast<const uint16_t*>(w), static_cast<const float*>(a));
}
float DotBF16W(int n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const float*>(a);
  float s = 0;
  for (int i = 0; i < n; ++i) s += Bf16ToFp32(x[i]) * y[i];
  return s;
}
void AxpyF16(int n, float a, const uint16_t* x, float* y) {
  for (int i = 0; i < n; ++i) y[i] += a * Fp16ToFp32Fast(x[i]);
}

void Fp32ToFp16Row(int n, const float* x, uint16_t* y) {
  for (int i = 0; i < n; ++i) y[i] = Fp32ToFp16(x[i]);
}


// Softmax of each of the G rows of `s` (n values each) in place, then rounding to fp16 (llama.cpp feeds the
// weights to an f16 matmul with V). Sums in double like ggml's soft_max.
void SoftmaxRowsToHalf(int G, int n, float* s) {
  for (int g = 0; g < G; ++g) {
    float* r = s + static_cast<size_t>(g) * n;
    float mx = -INFINITY;
    for (int j = 0; j < n; ++j) mx = r[j] > mx ? r[j] : mx;
    double sum = 0;
    for (int j = 0; j < n; ++j) {
      r[j] = std::exp(r[j] - mx);
      sum += r[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int j = 0; j < n; ++j) r[j] = Fp16ToFp32Fast(Fp32ToFp16(r[j] * inv));
  }
}

void AttendF16(int hd, int G, const float* q, const uint16_t* k, const uint16_t* v, size_t stride, int first,
               int n_pos, float scale, float softcap, bool /*batched*/, float* scratch, float* out) {
  const int n = n_pos - first;
  for (int j = 0; j < n; ++j)
    for (int g = 0; g < G; ++g)
      scratch[static_cast<size_t>(g) * n + j] =
          DotF16F32(hd, k + (first + j) * stride, q + static_cast<size_t>(g) * hd) * scale;
  if (softcap > 0) SoftCap(G * n, softcap, scratch);
  SoftmaxRowsToHalf(G, n, scratch);
  for (int i = 0; i < G * hd; ++i) out[i] = 0;
  for (int j = 0; j < n; ++j)
    for (int g = 0; g < G; ++g)
      AxpyF16(hd, scratch[static_cast<size_t>(g) * n + j], v + (first + j) * stride, out + static_cast<size_t>(g) * hd);
}

void SwiGlu(int n, float* g, const float* u) {
  for (int i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void CopyF32(const float* x, void* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * 4); }
void Q8_0(const float* x, void* y, int64_t n) { QuantizeRowQ8_0(x, static_cast<BlockQ8_0*>(y), n); }
// Q6_K in llama.cpp's tiled order for prompt batches: per super-block, (d_w * isum) then one fma with d_a.
float DotQ6_KBatch(int n, const void* vw, const void* va) {
  const auto* w = static_cast<const BlockQ6_K*>(vw);
  const auto* a = static_cast<const BlockQ8_K*>(va);
  float sum = 0;
  for (int i = 0; i < n / kQK_K; ++i)
    sum = std::fma(Fp16ToFp32Fast(w[i].d) * static_cast<float>(Q6KBlockSum(w[i], a[i])), a[i].d, sum);
  return sum;
}

void Q8_1(const float* x, void* y, int64_t n) { QuantizeRowQ8_1(x, static_cast<BlockQ8_1*>(y), n); }
void Q8_K(const float* x, void* y, int64_t n) { QuantizeRowQ8_K(x, static_cast<BlockQ8_K*>(y), n); }

KernelTable MakeTable() {
  KernelTable t{};
  auto set = [&](TensorType w, TensorType act, QuantizeFn q, VecDotFn d) {
    t.by_type[static_cast<int>(w)] = DotKernel{act, q, d};
  };
  set(TensorType::kF32, TensorType::kF32, CopyF32, DotF32W);
  set(TensorType::kF16, TensorType::kF32, CopyF32, DotF16W);
  set(TensorType::kBF16, TensorType::kF32, CopyF32, DotBF16W);
  set(TensorType::kQ4_0, TensorType::kQ8_0, Q8_0, DotLegacy<BlockQ4_0, BlockQ8_0, 8>);
  set(TensorType::kQ4_1, TensorType::kQ8_1, Q8_1, DotLegacy<BlockQ4_1, BlockQ8_1, 0>);
  set(TensorType::kQ5_0, TensorType::kQ8_0, Q8_0, DotLegacy<BlockQ5_0, BlockQ8_0, 16>);
  set(TensorType::kQ5_1, TensorType::kQ8_1, Q8_1, DotLegacy<BlockQ5_1, BlockQ8_1, 0>);
  set(TensorType::kQ8_0, TensorType::kQ8_0, Q8_0, DotQ8_0);
  set(TensorType::kQ4_K, TensorType::kQ8_K, Q8_K, DotQ4_K);
  set(TensorType::kQ5_K, TensorType::kQ8_K, Q8_K, DotQ5_KOrder<false>);
  set(TensorType::kQ6_K, TensorType::kQ8_K, Q8_K, DotQ6_K);
  t.by_type[static_cast<int>(TensorType::kQ6_K)].dot_batch = DotQ6_KBatch;
  t.by_type[static_cast<int>(TensorType::kQ5_K)].dot_batch = DotQ5_KOrder<true>;
  t.dot_f32 = DotF32;
  t.dot_f16_f32 = DotF16F32;
  t.axpy_f16 = AxpyF16;
  t.fp32_to_fp16 = Fp32ToFp16Row;
  t.attend = AttendF16;
  t.swiglu = SwiGlu;
  return t;
}

}  // namespace

const KernelTable& ScalarTable() {
  static const KernelTable table = MakeTable();
  return table;
}

}  // namespace tandem::engine::detail
