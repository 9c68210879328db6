// GGUF reader (format versions 2 and 3): metadata key/values and tensor descriptors over a memory map.
//
// Parse() checks everything before anything is used: magic, version, every length and count against the bytes
// that remain, value types, tensor ranks and dimensions, element types (unknown ids, and types Tandem cannot
// compute, are refused by name), row sizes that are not whole blocks, alignment, and that each tensor's bytes
// lie inside the file. Any failure is a Status naming the file and what is wrong; the reader never reads past
// the buffer. The weights are not copied: TensorInfo::data points into the map.
// A GgufFile is immutable after Open and safe to read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "engine/gguf/mapped_file.h"
#include "engine/kernels/quant_types.h"

namespace tandem::engine {

enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9,
  kU64 = 10, kI64 = 11, kF64 = 12,
};

struct GgufValue {
  GgufType type = GgufType::kU8;
  // Scalars: the integer or boolean value in i, the float value in f (both filled for numeric types).
  int64_t i = 0;
  double f = 0;
  std::string_view str;  // kString
  // kArray: element type and count; strings are pre-split, numbers stay raw (little-endian, unaligned).
  GgufType elem_type = GgufType::kU8;
  uint64_t count = 0;
  std::vector<std::string_view> strings;
  const uint8_t* raw = nullptr;

  // Numeric array element k as double / int64 (caller checked k < count and a numeric elem_type).
  double NumberAt(uint64_t k) const;
};

struct TensorInfo {
  std::string name;
  TensorType type = TensorType::kF32;
  int n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the contiguous (row) dimension
  uint64_t offset = 0;            // relative to the data section
  const uint8_t* data = nullptr;
  size_t bytes = 0;

  int64_t elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t row_bytes() const { return RowBytes(type, ne[0]); }
};

class GgufFile {
 public:
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses a buffer the caller keeps alive (tests and the fuzzer). `name` prefixes error messages.
  static Result<std::unique_ptr<GgufFile>> Parse(const uint8_t* data, size_t size, const std::string& name);

  uint32_t version() const { return version_; }
  const std::string& name() const { return name_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;
  const GgufValue* Find(std::string_view key) const;
  const std::vector<std::string>& keys() const { return key_order_; }

  // Typed getters; an error names the key and what was found instead.
  Result<std::string> GetString(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;  // any integer type
  Result<double> GetFloat(std::string_view key) const;  // any numeric type
  // Defaults for optional keys (a present key of the wrong type is still an error).
  Result<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  Result<double> GetFloat(std::string_view key, double fallback) const;
  Result<bool> GetBool(std::string_view key, bool fallback) const;

 private:
  GgufFile() = default;
  std::unique_ptr<MappedFile> map_;
  std::string name_;
  uint32_t version_ = 0;
  std::unordered_map<std::string_view, GgufValue> kv_;
  std::vector<std::string> key_order_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

const char* GgufTypeName(GgufType t);

}  // namespace tandem::engine
