// Tensor element types of GGUF files and the block layouts of the quantized ones.
//
// The numeric ids are GGML's (they are what a GGUF file stores). Each quantized type packs a fixed number of
// values (block_elems) into a fixed number of bytes (block_bytes); the structs below are those blocks, laid out
// byte for byte as in the file. Q8_1 and Q8_K never appear in a model file: they are the forms activations are
// quantized to before a dot product with Q4_1/Q5_1 and with K-quant weights respectively.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::engine {

enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

struct TypeInfo {
  const char* name;
  int block_elems;
  int block_bytes;
  bool computable;  // Tandem has kernels for it (weights of this type can be used)
};

// Information on a GGML type id, or nullptr when the id is not one Tandem knows the layout of.
const TypeInfo* GetTypeInfo(uint32_t type_id);
inline const TypeInfo& Info(TensorType t) { return *GetTypeInfo(static_cast<uint32_t>(t)); }
const char* TypeName(TensorType t);
// The name ggml gives a type id (any of them, also those Tandem has no TypeInfo for), or null for an id ggml
// never had.
const char* GgmlTypeName(uint32_t type_id);

constexpr int kQK = 32;    // elements per block of the legacy formats
constexpr int kQK_K = 256;  // elements per super-block of the K formats

#pragma pack(push, 1)
struct BlockQ4_0 { uint16_t d; uint8_t qs[kQK / 2]; };
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[kQK / 2]; };
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct BlockQ8_0 { uint16_t d; int8_t qs[kQK]; };
struct BlockQ8_1 { uint16_t d, s; int8_t qs[kQK]; };  // s = d * sum(qs)
struct BlockQ2_K { uint8_t scales[kQK_K / 16]; uint8_t qs[kQK_K / 4]; uint16_t d, dmin; };
struct BlockQ3_K { uint8_t hmask[kQK_K / 8]; uint8_t qs[kQK_K / 4]; uint8_t scales[12]; uint16_t d; };
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[kQK_K / 2]; };
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[kQK_K / 8]; uint8_t qs[kQK_K / 2]; };
struct BlockQ6_K { uint8_t ql[kQK_K / 2]; uint8_t qh[kQK_K / 4]; int8_t scales[kQK_K / 16]; uint16_t d; };
struct BlockQ8_K { float d; int8_t qs[kQK_K]; int16_t bsums[kQK_K / 16]; };
#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// Bytes taken by `n` elements of type `t` (n must be a multiple of the block size).
inline size_t RowBytes(TensorType t, int64_t n) {
  const TypeInfo& i = Info(t);
  return static_cast<size_t>(n / i.block_elems) * static_cast<size_t>(i.block_bytes);
}

}  // namespace tandem::engine
