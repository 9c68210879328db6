#include "engine/gguf/gguf_file.h"

#include <cstring>

namespace tandem::engine {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kMaxStringBytes = 1u << 24;
constexpr uint64_t kMaxKeys = 1u << 20;
constexpr uint64_t kMaxTensors = 1u << 20;

size_t ScalarSize(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    default: return 0;
  }
}

// Reads one scalar of type t at p into (i, f).
void DecodeScalar(GgufType t, const uint8_t* p, int64_t* i, double* f) {
  auto rd = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (t) {
    case GgufType::kU8: *i = rd(uint8_t{}); break;
    case GgufType::kI8: *i = rd(int8_t{}); break;
    case GgufType::kBool: *i = rd(uint8_t{}) != 0; break;
    case GgufType::kU16: *i = rd(uint16_t{}); break;
    case GgufType::kI16: *i = rd(int16_t{}); break;
    case GgufType::kU32: *i = rd(uint32_t{}); break;
    case GgufType::kI32: *i = rd(int32_t{}); break;
    case GgufType::kU64: *i = static_cast<int64_t>(rd(uint64_t{})); break;
    case GgufType::kI64: *i = rd(int64_t{}); break;
    case GgufType::kF32: *f = rd(float{}); *i = static_cast<int64_t>(*f); return;
    case GgufType::kF64: *f = rd(double{}); *i = static_cast<int64_t>(*f); return;
    default: return;
  }
  *f = static_cast<double>(*i);
}

bool IsInteger(GgufType t) {
  return t == GgufType::kU8 || t == GgufType::kI8 || t == GgufType::kU16 || t == GgufType::kI16 ||
         t == GgufType::kU32 || t == GgufType::kI32 || t == GgufType::kU64 || t == GgufType::kI64;
}

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& name) : p_(data), base_(data), end_(data + size), name_(name) {}

  size_t offset() const { return static_cast<size_t>(p_ - base_); }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* ptr() const { return p_; }

  Status Fail(const std::string& what) const {
    return Status(Code::kInvalidArgument, name_ + ": " + what + " (at byte " + std::to_string(offset()) + ")");
  }

  template <class T>
  Status Read(T* out, const char* what) {
    if (remaining() < sizeof(T)) return Fail(std::string("truncated file: expected ") + what);
    std::memcpy(out, p_, sizeof(T));
    p_ += sizeof(T);
    return Status::Ok();
  }

  Status Skip(uint64_t n, const char* what) {
    if (n > remaining()) return Fail(std::string("truncated file: ") + what + " runs past the end");
    p_ += n;
    return Status::Ok();
  }

  Status ReadString(std::string_view* out, const char* what) {
    uint64_t len = 0;
    if (Status s = Read(&len, what); !s.ok()) return s;
    if (len > kMaxStringBytes) return Fail(std::string(what) + " has an implausible length " + std::to_string(len));
    const uint8_t* start = p_;
    if (Status s = Skip(len, what); !s.ok()) return s;
    *out = std::string_view(reinterpret_cast<const char*>(start), static_cast<size_t>(len));
    return Status::Ok();
  }

 private:
  const uint8_t* p_;
  const uint8_t* base_;
  const uint8_t* end_;
  const std::string& name_;
};

Status ReadValue(Cursor& c, GgufType type, GgufValue* v, const std::string& key, int depth) {
  v->type = type;
  if (type == GgufType::kString) return c.ReadString(&v->str, "string value");
  if (type == GgufType::kArray) {
    if (depth > 0) return c.Fail("key '" + key + "': nested arrays are not supported");
    uint32_t et = 0;
    if (Status s = c.Read(&et, "array element type"); !s.ok()) return s;
    if (Status s = c.Read(&v->count, "array length"); !s.ok()) return s;
    v->elem_type = static_cast<GgufType>(et);
    if (v->elem_type == GgufType::kString) {
      if (v->count > c.remaining() / 8) return c.Fail("key '" + key + "': array length runs past the end");
      v->strings.resize(static_cast<size_t>(v->count));
      for (auto& s : v->strings)
        if (Status st = c.ReadString(&s, "array string"); !st.ok()) return st;
      return Status::Ok();
    }
    const size_t es = ScalarSize(v->elem_type);
    if (es == 0) return c.Fail("key '" + key + "': unknown array element type " + std::to_string(et));
    if (v->count > c.remaining() / es) return c.Fail("truncated file: array '" + key + "' runs past the end");
    v->raw = c.ptr();
    return c.Skip(v->count * es, "array");
  }
  const size_t size = ScalarSize(type);
  if (size == 0) return c.Fail("key '" + key + "': unknown value type " + std::to_string(static_cast<uint32_t>(type)));
  if (c.remaining() < size) return c.Fail("truncated file: value of '" + key + "'");
  DecodeScalar(type, c.ptr(), &v->i, &v->f);
  return c.Skip(size, "value");
}

}  // namespace

const char* GgufTypeName(GgufType t) {
  static const char* kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array",
                                 "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < 13 ? kNames[i] : "unknown";
}

double GgufValue::NumberAt(uint64_t k) const {
  int64_t i = 0;
  double f = 0;
  DecodeScalar(elem_type, raw + k * ScalarSize(elem_type), &i, &f);
  return f;
}

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  auto map = MappedFile::Open(path);
  if (!map.ok()) return map.status();
  auto file = Parse((*map)->data(), (*map)->size(), path);
  if (!file.ok()) return file.status();
  (*file)->map_ = std::move(*map);
  return std::move(*file);
}

Result<std::unique_ptr<GgufFile>> GgufFile::Parse(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->name_ = name;
  Cursor c(data, size, f->name_);
  uint32_t magic = 0;
  if (Status s = c.Read(&magic, "magic"); !s.ok()) return s;
  if (magic != kMagic) return c.Fail("not a GGUF file (bad magic)");
  if (Status s = c.Read(&f->version_, "version"); !s.ok()) return s;
  if (f->version_ != 2 && f->version_ != 3)
    return c.Fail("unsupported GGUF version " + std::to_string(f->version_) + " (2 and 3 are supported)");
  uint64_t n_tensors = 0, n_kv = 0;
  if (Status s = c.Read(&n_tensors, "tensor count"); !s.ok()) return s;
  if (Status s = c.Read(&n_kv, "key/value count"); !s.ok()) return s;
  if (n_tensors > kMaxTensors) return c.Fail("implausible tensor count " + std::to_string(n_tensors));
  if (n_kv > kMaxKeys) return c.Fail("implausible key/value count " + std::to_string(n_kv));

  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string_view key;
    if (Status s = c.ReadString(&key, "key"); !s.ok()) return s;
    uint32_t type = 0;
    if (Status s = c.Read(&type, "value type"); !s.ok()) return s;
    GgufValue v;
    if (Status s = ReadValue(c, static_cast<GgufType>(type), &v, std::string(key), 0); !s.ok()) return s;
    if (!f->kv_.emplace(key, std::move(v)).second) return c.Fail("duplicate key '" + std::string(key) + "'");
    f->key_order_.emplace_back(key);
  }

  uint64_t alignment = 32;
  if (const GgufValue* a = f->Find("general.alignment")) {
    if (!IsInteger(a->type) || a->i <= 0 || (a->i & (a->i - 1)) != 0)
      return c.Fail("general.alignment must be a positive power of two");
    alignment = static_cast<uint64_t>(a->i);
  }

  f->tensors_.resize(static_cast<size_t>(n_tensors));
  for (auto& t : f->tensors_) {
    std::string_view tname;
    if (Status s = c.ReadString(&tname, "tensor name"); !s.ok()) return s;
    t.name = std::string(tname);
    uint32_t n_dims = 0;
    if (Status s = c.Read(&n_dims, "tensor rank"); !s.ok()) return s;
    if (n_dims == 0 || n_dims > 4) return c.Fail("tensor '" + t.name + "' has rank " + std::to_string(n_dims));
    t.n_dims = static_cast<int>(n_dims);
    int64_t total = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      if (Status s = c.Read(&ne, "tensor dimension"); !s.ok()) return s;
      if (ne == 0 || ne > (1ull << 40)) return c.Fail("tensor '" + t.name + "' has dimension " + std::to_string(ne));
      t.ne[d] = static_cast<int64_t>(ne);
      if (total > (int64_t{1} << 42) / t.ne[d]) return c.Fail("tensor '" + t.name + "' is implausibly large");
      total *= t.ne[d];
    }
    uint32_t type = 0;
    if (Status s = c.Read(&type, "tensor type"); !s.ok()) return s;
    const TypeInfo* info = GetTypeInfo(type);
    if (!info) {
      const char* name = GgmlTypeName(type);
      if (name) return c.Fail("tensor '" + t.name + "' has type " + name + ", which Tandem cannot compute yet");
      return c.Fail("tensor '" + t.name + "' has unknown type id " + std::to_string(type));
    }
    if (!info->computable)
      return c.Fail("tensor '" + t.name + "' has type " + info->name + ", which Tandem cannot compute yet");
    t.type = static_cast<TensorType>(type);
    if (t.ne[0] % info->block_elems != 0)
      return c.Fail("tensor '" + t.name + "': row of " + std::to_string(t.ne[0]) + " elements is not whole " +
                    info->name + " blocks");
    if (Status s = c.Read(&t.offset, "tensor offset"); !s.ok()) return s;
    if (t.offset % alignment != 0) return c.Fail("tensor '" + t.name + "' offset is not aligned");
    t.bytes = t.row_bytes() * static_cast<size_t>(t.rows());
  }
  for (size_t k = 0; k < f->tensors_.size(); ++k)
    if (!f->tensor_index_.emplace(f->tensors_[k].name, k).second)
      return c.Fail("duplicate tensor '" + f->tensors_[k].name + "'");

  const uint64_t data_start = (c.offset() + alignment - 1) / alignment * alignment;
  if (data_start > size && !f->tensors_.empty()) return c.Fail("truncated file: no tensor data section");
  for (auto& t : f->tensors_) {
    const uint64_t avail = size - data_start;
    if (t.offset > avail || t.bytes > avail - t.offset)
      return Status(Code::kInvalidArgument, name + ": truncated file: tensor '" + t.name + "' (" +
                                                std::to_string(t.bytes) + " bytes at data offset " +
                                                std::to_string(t.offset) + ") runs past the end of the file");
    t.data = data + data_start + t.offset;
  }
  return f;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

namespace {
Status WrongType(const std::string& file, std::string_view key, const char* want, GgufType got) {
  return Status(Code::kInvalidArgument,
                file + ": metadata '" + std::string(key) + "' should be " + want + ", is " + GgufTypeName(got));
}
}  // namespace

Result<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Status(Code::kInvalidArgument, name_ + ": metadata '" + std::string(key) + "' is missing");
  if (v->type != GgufType::kString) return WrongType(name_, key, "a string", v->type);
  return std::string(v->str);
}

Result<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Status(Code::kInvalidArgument, name_ + ": metadata '" + std::string(key) + "' is missing");
  if (!IsInteger(v->type)) return WrongType(name_, key, "an integer", v->type);
  return v->i;
}

Result<int64_t> GgufFile::GetInt(std::string_view key, int64_t fallback) const {
  return Find(key) ? GetInt(key) : Result<int64_t>(fallback);
}

Result<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Status(Code::kInvalidArgument, name_ + ": metadata '" + std::string(key) + "' is missing");
  if (ScalarSize(v->type) == 0 || v->type == GgufType::kBool) return WrongType(name_, key, "a number", v->type);
  return v->f;
}

Result<double> GgufFile::GetFloat(std::string_view key, double fallback) const {
  return Find(key) ? GetFloat(key) : Result<double>(fallback);
}

Result<bool> GgufFile::GetBool(std::string_view key, bool fallback) const {
  const GgufValue* v = Find(key);
  if (!v) return fallback;
  if (v->type != GgufType::kBool) return WrongType(name_, key, "a bool", v->type);
  return v->i != 0;
}

}  // namespace tandem::engine
