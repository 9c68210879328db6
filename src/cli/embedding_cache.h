// EmbeddingCache: pooled prompt states already computed, keyed by the prompt's hash and the encoder, in a file of
// (u64 key, u32 dim, dim floats) records appended as they are computed, so an interrupted run keeps what it did.
// Shared by `tandem train --encoder` / `eval --router slm:` (cli/slm_embed) and `tandem outcomes --states`.
// Not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem {

inline uint64_t Fnv64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

class EmbeddingCache {
 public:
  EmbeddingCache(std::string path, std::string encoder) : path_(std::move(path)), salt_(Fnv64(encoder)) {
    if (path_.empty()) return;
    std::ifstream in(path_, std::ios::binary);
    uint64_t key;
    uint32_t dim;
    while (in.read(reinterpret_cast<char*>(&key), sizeof key) && in.read(reinterpret_cast<char*>(&dim), sizeof dim)) {
      if (dim > (1u << 16)) break;
      std::vector<float> v(dim);
      if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(dim * sizeof(float)))) break;
      map_[key] = std::move(v);
    }
    out_.open(path_, std::ios::binary | std::ios::app);
  }
  const std::vector<float>* find(std::string_view prompt) const {
    auto it = map_.find(Fnv64(prompt) ^ salt_);
    return it == map_.end() ? nullptr : &it->second;
  }
  void put(std::string_view prompt, const std::vector<float>& v) {
    const uint64_t key = Fnv64(prompt) ^ salt_;
    map_[key] = v;
    if (!out_) return;
    const uint32_t dim = static_cast<uint32_t>(v.size());
    out_.write(reinterpret_cast<const char*>(&key), sizeof key);
    out_.write(reinterpret_cast<const char*>(&dim), sizeof dim);
    out_.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    out_.flush();
  }
  size_t size() const { return map_.size(); }

 private:
  std::string path_;
  uint64_t salt_;
  std::unordered_map<uint64_t, std::vector<float>> map_;
  std::ofstream out_;
};

}  // namespace tandem
