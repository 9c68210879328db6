// Test helper: builds GGUF files in memory (header, metadata, tensor descriptors, aligned data), so reader and
// tokenizer tests can make valid files and then break them byte by byte.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/tokenizer/unicode.h"

namespace tandem::testing {

class GgufBuilder {
 public:
  explicit GgufBuilder(uint32_t version = 3) : version_(version) {}

  GgufBuilder& Str(const std::string& key, const std::string& v) {
    Kv(key, 8);
    PutStr(kv_, v);
    ++n_kv_;
    return *this;
  }
  GgufBuilder& U32(const std::string& key, uint32_t v) {
    Kv(key, 4);
    Put(kv_, v);
    ++n_kv_;
    return *this;
  }
  GgufBuilder& F32(const std::string& key, float v) {
    Kv(key, 6);
    Put(kv_, v);
    ++n_kv_;
    return *this;
  }
  GgufBuilder& Bool(const std::string& key, bool v) {
    Kv(key, 7);
    kv_.push_back(v ? 1 : 0);
    ++n_kv_;
    return *this;
  }
  GgufBuilder& StrArray(const std::string& key, const std::vector<std::string>& v) {
    Kv(key, 9);
    Put(kv_, uint32_t{8});
    Put(kv_, static_cast<uint64_t>(v.size()));
    for (const auto& s : v) PutStr(kv_, s);
    ++n_kv_;
    return *this;
  }
  GgufBuilder& I32Array(const std::string& key, const std::vector<int32_t>& v) {
    Kv(key, 9);
    Put(kv_, uint32_t{5});
    Put(kv_, static_cast<uint64_t>(v.size()));
    for (int32_t x : v) Put(kv_, x);
    ++n_kv_;
    return *this;
  }
  GgufBuilder& F32Array(const std::string& key, const std::vector<float>& v) {
    Kv(key, 9);
    Put(kv_, uint32_t{6});
    Put(kv_, static_cast<uint64_t>(v.size()));
    for (float x : v) Put(kv_, x);
    ++n_kv_;
    return *this;
  }
  // A tensor of `type` (GGML id) with dims ne (ne[0] contiguous) and the given raw bytes.
  GgufBuilder& Tensor(const std::string& name, uint32_t type, std::vector<uint64_t> ne, std::vector<uint8_t> bytes) {
    PutStr(ti_, name);
    Put(ti_, static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) Put(ti_, d);
    Put(ti_, type);
    while (data_.size() % 32) data_.push_back(0);
    Put(ti_, static_cast<uint64_t>(data_.size()));
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    ++n_tensors_;
    return *this;
  }

  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> out;
    Put(out, uint32_t{0x46554747});
    Put(out, version_);
    Put(out, n_tensors_);
    Put(out, n_kv_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    out.insert(out.end(), ti_.begin(), ti_.end());
    while (out.size() % 32) out.push_back(0);
    out.insert(out.end(), data_.begin(), data_.end());
    return out;
  }

 private:
  template <class T>
  static void Put(std::vector<uint8_t>& b, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
  }
  static void PutStr(std::vector<uint8_t>& b, const std::string& s) {
    Put(b, static_cast<uint64_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
  }
  void Kv(const std::string& key, uint32_t type) {
    PutStr(kv_, key);
    Put(kv_, type);
  }

  uint32_t version_;
  uint64_t n_kv_ = 0, n_tensors_ = 0;
  std::vector<uint8_t> kv_, ti_, data_;
};

// A byte-level BPE vocabulary (smollm pre-tokenizer): the 256 byte symbols, tokens for `merges` ("a b" -> "ab"),
// a control token <|im_start|> and a user-defined token <tool>.
inline std::vector<uint8_t> ByteBpeVocab(const std::vector<std::string>& merges) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    engine::AppendUtf8(engine::ByteToCp(static_cast<uint8_t>(b)), &s);
    tokens.push_back(s);
  }
  for (const auto& m : merges) tokens.push_back(m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1));
  std::vector<int32_t> types(tokens.size(), 1);
  tokens.push_back("<|im_start|>");
  types.push_back(3);
  tokens.push_back("<tool>");
  types.push_back(4);
  tokens.push_back("<|endoftext|>");
  types.push_back(3);
  return GgufBuilder()
      .Str("tokenizer.ggml.model", "gpt2")
      .Str("tokenizer.ggml.pre", "smollm")
      .StrArray("tokenizer.ggml.tokens", tokens)
      .I32Array("tokenizer.ggml.token_type", types)
      .StrArray("tokenizer.ggml.merges", merges)
      .U32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokens.size() - 1))
      .Build();
}

}  // namespace tandem::testing
