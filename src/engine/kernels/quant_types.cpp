#include "engine/kernels/quant_types.h"

#include "engine/kernels/fp16.h"

namespace tandem::engine {

const TypeInfo* GetTypeInfo(uint32_t id) {
  static const TypeInfo kF32{"F32", 1, 4, true}, kF16{"F16", 1, 2, true}, kBF16{"BF16", 1, 2, true},
      kQ4_0{"Q4_0", kQK, sizeof(BlockQ4_0), true}, kQ4_1{"Q4_1", kQK, sizeof(BlockQ4_1), true},
      kQ5_0{"Q5_0", kQK, sizeof(BlockQ5_0), true}, kQ5_1{"Q5_1", kQK, sizeof(BlockQ5_1), true},
      kQ8_0{"Q8_0", kQK, sizeof(BlockQ8_0), true}, kQ8_1{"Q8_1", kQK, sizeof(BlockQ8_1), false},
      kQ2_K{"Q2_K", kQK_K, sizeof(BlockQ2_K), false}, kQ3_K{"Q3_K", kQK_K, sizeof(BlockQ3_K), false},
      kQ4_K{"Q4_K", kQK_K, sizeof(BlockQ4_K), true}, kQ5_K{"Q5_K", kQK_K, sizeof(BlockQ5_K), true},
      kQ6_K{"Q6_K", kQK_K, sizeof(BlockQ6_K), true}, kQ8_K{"Q8_K", kQK_K, sizeof(BlockQ8_K), false};
  switch (static_cast<TensorType>(id)) {
    case TensorType::kF32: return &kF32;
    case TensorType::kF16: return &kF16;
    case TensorType::kBF16: return &kBF16;
    case TensorType::kQ4_0: return &kQ4_0;
    case TensorType::kQ4_1: return &kQ4_1;
    case TensorType::kQ5_0: return &kQ5_0;
    case TensorType::kQ5_1: return &kQ5_1;
    case TensorType::kQ8_0: return &kQ8_0;
    case TensorType::kQ8_1: return &kQ8_1;
    case TensorType::kQ2_K: return &kQ2_K;
    case TensorType::kQ3_K: return &kQ3_K;
    case TensorType::kQ4_K: return &kQ4_K;
    case TensorType::kQ5_K: return &kQ5_K;
    case TensorType::kQ6_K: return &kQ6_K;
    case TensorType::kQ8_K: return &kQ8_K;
  }
  return nullptr;
}

const char* TypeName(TensorType t) {
  const TypeInfo* i = GetTypeInfo(static_cast<uint32_t>(t));
  return i ? i->name : "unknown";
}

const char* GgmlTypeName(uint32_t id) {
  // ggml's type ids (ggml.h), the retired ones included, so that a file of any of them is refused by name.
  static const char* const kNames[] = {
      "F32",     "F16",     "Q4_0",    "Q4_1",    "Q4_2",    "Q4_3",   "Q5_0",    "Q5_1",    "Q8_0",    "Q8_1",
      "Q2_K",    "Q3_K",    "Q4_K",    "Q5_K",    "Q6_K",    "Q8_K",   "IQ2_XXS", "IQ2_XS",  "IQ3_XXS", "IQ1_S",
      "IQ4_NL",  "IQ3_S",   "IQ2_S",   "IQ4_XS",  "I8",      "I16",    "I32",     "I64",     "F64",     "IQ1_M",
      "BF16",    "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8",
      "MXFP4"};
  return id < sizeof(kNames) / sizeof(kNames[0]) ? kNames[id] : nullptr;
}

const float* Fp16Table() {
  static const float* table = [] {
    auto* t = new float[65536];
    for (uint32_t i = 0; i < 65536; ++i) t[i] = Fp16ToFp32(static_cast<uint16_t>(i));
    return t;
  }();
  return table;
}

}  // namespace tandem::engine
