// Dot products between one row of weights and one row of activations: the inner loop of every matmul.
//
// Each weight type has a partner activation type (llama.cpp's "vec_dot_type"): Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1
// for Q4_1/Q5_1, Q8_K for the K-quants, float32 for F32/F16/BF16. A DotKernel quantizes activations into that
// type once per row, then its `dot` is called against many weight rows. Two implementations exist — portable
// scalar code and AVX2/FMA — and GetDotKernel picks AVX2 when the CPU has it (checked once at run time;
// TANDEM_FORCE_SCALAR=1 in the environment, or ForceScalarKernels, selects scalar). Integer partial sums are
// identical in both; float accumulation order differs. Where the CPU also has AVX-512 VNNI, the AVX2 table
// carries AVX-512 panels for prompt rows, bit-identical to its tiles. Thread-safe: the tables are immutable after
// init.
#pragma once

#include <cstddef>
#include <cmath>
#include <cstdint>

#include "engine/kernels/quant_types.h"

namespace tandem::engine {

using QuantizeFn = void (*)(const float* x, void* y, int64_t n);
using VecDotFn = float (*)(int n, const void* w, const void* a);
// One weight row against four activation rows `stride` bytes apart; out[0..3].
using VecDot4Fn = void (*)(int n, const void* w, const void* a, size_t stride, float* out);

// Two weight rows (w_stride bytes apart) against four activation rows: out[r * out_stride + c], r < 2, c < 4.
using VecTile24Fn = void (*)(int n, const void* w, size_t w_stride, const void* a, size_t a_stride, float* out,
                             size_t out_stride);

// Sixteen weight rows (w_stride bytes apart) against T activation rows (a_stride apart, T a multiple of 4):
// out[t * out_stride + x] for weight row x < 16 and activation row t < T.
using VecPanelFn = void (*)(int n, const void* w, size_t w_stride, const void* a, size_t a_stride, int T, float* out,
                            size_t out_stride);

struct DotKernel {
  TensorType act_type = TensorType::kF32;
  QuantizeFn quantize = nullptr;
  VecDotFn dot = nullptr;    // nullptr: weights of this type cannot be multiplied
  VecDot4Fn dot4 = nullptr;  // optional; callers fall back to four dot() calls. Used for prompt rows in full
                             // groups of four, where llama.cpp may sum in another order than for single rows
                             // (Q4_K), so it is not always bit-identical to dot().
  VecTile24Fn tile24 = nullptr;  // optional
  // Optional: four dot() results at once, bit for bit (weights unpacked once): the single-token rows of
  // several sequences in one batched decode step, each of which must get what it would get alone.
  VecDot4Fn dot4_decode = nullptr;
  // Optional: the order llama.cpp sums in when a matmul has at least kBatchOrderMinRows activation rows and it
  // takes its tiled K-quant path (ggml-cpu/tiled: per super-block, the exact integer dot scaled by the weight's d,
  // then one fma with the activation's d into a single float accumulator). Where set, prompt batches use these
  // instead of dot/dot4 (dot4_batch may be null: four dot_batch calls).
  VecDotFn dot_batch = nullptr;
  VecDot4Fn dot4_batch = nullptr;
  // Optional: the kernels for a matrix llama.cpp does not repack (a row count that is not a multiple of 8), where
  // its order differs from the repacked one that dot/dot4/tile24 follow (Q4_0). See KernelFor.
  const DotKernel* unrepacked = nullptr;
  // Optional (AVX-512 VNNI): tile24's results, bit for bit, for 16 weight rows at once; used where tile24 would be.
  VecPanelFn panel16 = nullptr;
  VecPanelFn panel16_batch = nullptr;  // the same for dot_batch's order (prompt batches of kBatchOrderMinRows+)
};

// The kernel for a weight matrix of `rows` rows: `k` itself, or its `unrepacked` form when llama.cpp would not
// repack a matrix of that many rows.
inline const DotKernel& KernelFor(const DotKernel& k, int64_t rows) {
  return k.unrepacked && rows % 8 != 0 ? *k.unrepacked : k;
}

// Activation rows from which llama.cpp's matmul takes its tiled K-quant path (ggml_tiled_min_batch).
inline constexpr int kBatchOrderMinRows = 8;

enum class Isa { kScalar, kAvx2 };

const DotKernel& GetDotKernel(TensorType weight_type);
const DotKernel& GetDotKernel(TensorType weight_type, Isa isa);
Isa ActiveIsa();
const char* IsaName(Isa isa);
void ForceScalarKernels(bool scalar);  // for tests and benchmarks; not safe while kernels run elsewhere
bool CpuHasAvx2();
// AVX-512 F, BW and VNNI, with the OS saving their state. The AVX2 table then takes the AVX-512 panel kernels,
// unless TANDEM_NO_AVX512=1 is in the environment.
bool CpuHasAvx512Vnni();
// The kernels in use, for reports: "scalar", "avx2", or "avx2+avx512vnni" (AVX2 with AVX-512 panels).
const char* ActiveKernelsName();

// Bytes one activation row of n elements takes once quantized for this kernel.
inline size_t ActRowBytes(const DotKernel& k, int64_t n) { return RowBytes(k.act_type, n); }

// Float helpers used by the model's attention and norms (same ISA choice).
float DotF32(int n, const float* a, const float* b);
float DotF16F32(int n, const uint16_t* a, const float* b);
// y += a * x (x in half precision).
void AxpyF16(int n, float a, const uint16_t* x, float* y);
// y[i] = x[i] in half precision, rounded to nearest even (F16C's rounding; NaN payloads may differ by ISA).
void Fp32ToFp16Row(int n, const float* x, uint16_t* y);

// g[i] = silu(g[i]) * u[i], silu(x) = x / (1 + e^-x). The AVX2 version uses a polynomial exp (within 2 ulp), as
// llama.cpp's vectorized SwiGLU does.
void SwiGlu(int n, float* g, const float* u);

// Attention for one query position and one group of G query heads sharing a KV head (grouped-query attention).
// q: G rows of hd floats (already rounded to fp16, as llama.cpp's f16 q.k does); k, v: cached rows of hd halves,
// `stride` halves apart, for positions 0..n_pos-1, of which those before `first` are masked (sliding window).
// Softmax weights are rounded to fp16 before they weight v. The AVX2 version reproduces llama.cpp's order of
// float operations for the path it would take: `batched` (a prompt batch: tinyBLAS) or not (decode: vec_dot_f16).
// `softcap` > 0 soft-caps each scaled score s as softcap * tanh(s / softcap) before the softmax (gemma2), in
// llama.cpp's order: s * (1 / softcap), tanhf, * softcap.
// out: G rows of hd floats. scratch: at least G * (n_pos + 8) + G * 32 * hd floats.
void AttendF16(int hd, int G, const float* q, const uint16_t* k, const uint16_t* v, size_t stride, int first,
               int n_pos, float scale, float softcap, bool batched, float* scratch, float* out);
// The soft-cap of AttendF16 (and of gemma2's final logits) over n values in place.
inline void SoftCap(int n, float cap, float* s) {
  const float inv = 1.0f / cap;
  for (int i = 0; i < n; ++i) s[i] = std::tanh(s[i] * inv) * cap;
}

namespace detail {
// Implementations, one table per ISA. Indexed by TensorType id (0..31).
struct KernelTable {
  DotKernel by_type[32];
  float (*dot_f32)(int, const float*, const float*);
  float (*dot_f16_f32)(int, const uint16_t*, const float*);
  void (*axpy_f16)(int, float, const uint16_t*, float*);
  void (*fp32_to_fp16)(int, const float*, uint16_t*);
  void (*attend)(int, int, const float*, const uint16_t*, const uint16_t*, size_t, int, int, float, float, bool,
                 float*, float*);
  void (*swiglu)(int, float*, const float*);
};
const KernelTable& ScalarTable();
const KernelTable* Avx2Table();  // nullptr when built without AVX2 support
VecPanelFn Avx512PanelQ4_K();     // these four: nullptr when built without AVX-512 support
VecPanelFn Avx512PanelQ5_0();
VecPanelFn Avx512PanelQ8_0();
VecPanelFn Avx512PanelQ6_KBatch();
}  // namespace detail

}  // namespace tandem::engine
