// Dot products between one row of weights and one row of activations: the inner loop of every matmul.
//
// Each weight type has a partner activation type (llama.cpp's "vec_dot_type"): Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1
// for Q4_1/Q5_1, Q8_K for the K-quants, float32 for F32/F16/BF16. A DotKernel quantizes activations into that
// type once per row, then its `dot` is called against many weight rows. Two implementations exist — portable
// scalar code and AVX2/FMA — and GetDotKernel picks AVX2 when the CPU has it (checked once at run time;
// TANDEM_FORCE_SCALAR=1 in the environment, or ForceScalarKernels, selects scalar). Integer partial sums are
// identical in both; float accumulation order differs. Thread-safe: the tables are immutable after init.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/quant_types.h"

namespace tandem::engine {

using QuantizeFn = void (*)(const float* x, void* y, int64_t n);
using VecDotFn = float (*)(int n, const void* w, const void* a);

struct DotKernel {
  TensorType act_type = TensorType::kF32;
  QuantizeFn quantize = nullptr;
  VecDotFn dot = nullptr;  // nullptr: weights of this type cannot be multiplied
};

enum class Isa { kScalar, kAvx2 };

const DotKernel& GetDotKernel(TensorType weight_type);
const DotKernel& GetDotKernel(TensorType weight_type, Isa isa);
Isa ActiveIsa();
const char* IsaName(Isa isa);
void ForceScalarKernels(bool scalar);  // for tests and benchmarks; not safe while kernels run elsewhere
bool CpuHasAvx2();

// Bytes one activation row of n elements takes once quantized for this kernel.
inline size_t ActRowBytes(const DotKernel& k, int64_t n) { return RowBytes(k.act_type, n); }

// Float helpers used by the model's attention and norms (same ISA choice).
float DotF32(int n, const float* a, const float* b);
float DotF16F32(int n, const uint16_t* a, const float* b);
// y += a * x (x in half precision).
void AxpyF16(int n, float a, const uint16_t* x, float* y);

namespace detail {
// Implementations, one table per ISA. Indexed by TensorType id (0..31).
struct KernelTable {
  DotKernel by_type[32];
  float (*dot_f32)(int, const float*, const float*);
  float (*dot_f16_f32)(int, const uint16_t*, const float*);
  void (*axpy_f16)(int, float, const uint16_t*, float*);
};
const KernelTable& ScalarTable();
const KernelTable* Avx2Table();  // nullptr when built without AVX2 support
}  // namespace detail

}  // namespace tandem::engine
