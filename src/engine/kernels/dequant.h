// Reference (scalar) conversions between float32 and the block formats.
//
// DequantizeRow decodes exactly as the format's reference decoder does (gguf-py / ggml), bit for bit; the unit
// tests hold it to fixtures written by gguf-py. The QuantizeRow* functions quantize activations the way
// llama.cpp's x86 build does before a quantized dot product, so integer partial sums agree with it.
// All functions are pure and thread-safe; `n` must be a multiple of the type's block size.
#pragma once

#include <cstdint>

#include "engine/kernels/quant_types.h"

namespace tandem::engine {

// Decodes n values of type t (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, and the
// activation forms Q8_1, Q8_K) into dst.
void DequantizeRow(TensorType t, const void* src, float* dst, int64_t n);

void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n);
void QuantizeRowQ8_1(const float* x, BlockQ8_1* y, int64_t n);
void QuantizeRowQ8_K(const float* x, BlockQ8_K* y, int64_t n);

// Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block.
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace tandem::engine
