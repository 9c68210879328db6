#include "engine/generate/prefix_cache.h"

#include "engine/generate/generate.h"

#include <algorithm>
#include <cstring>

namespace tandem::engine {
namespace {

uint64_t Mix(uint64_t h, uint64_t x) {  // splitmix64 over the running hash
  h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

PrefixCache::PrefixCache(const ModelConfig& c, int64_t budget_bytes)
    : block_values_(static_cast<size_t>(c.n_layer) * kBlock * static_cast<size_t>(c.kv_dim())),
      budget_(budget_bytes) {}

std::vector<uint64_t> PrefixCache::Keys(const int32_t* tokens, int n) {
  std::vector<uint64_t> keys;
  uint64_t h = 0x51ed270b27c5a0f3ULL;
  for (int b = 0; (b + 1) * kBlock <= n; ++b) {
    for (int i = b * kBlock; i < (b + 1) * kBlock; ++i) h = Mix(h, static_cast<uint32_t>(tokens[i]));
    keys.push_back(h == 0 ? 1 : h);  // 0 means "no parent"
  }
  return keys;
}

const PrefixCache::Block* PrefixCache::Find(uint64_t key, uint64_t parent, const int32_t* tokens) const {
  auto it = blocks_.find(key);
  if (it == blocks_.end() || it->second.parent != parent) return nullptr;
  if (std::memcmp(it->second.tokens.data(), tokens, kBlock * sizeof(int32_t)) != 0) return nullptr;
  return &it->second;
}

// Marks keys[0..n) used, the first most recently: a prefix's early blocks outlive its later ones.
void PrefixCache::Touch(const std::vector<uint64_t>& keys, size_t n) {
  for (size_t i = n; i-- > 0;) {
    auto it = blocks_.find(keys[i]);
    if (it != blocks_.end()) lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
}

void PrefixCache::Evict() {
  while (bytes_ > budget_ && !lru_.empty()) {
    blocks_.erase(lru_.back());
    lru_.pop_back();
    bytes_ -= static_cast<int64_t>(2 * block_values_ * sizeof(uint16_t));
  }
}

int PrefixCache::Seed(Session& session, const std::vector<int32_t>& prompt) {
  const int have = CommonPrefix(session.tokens(), prompt);
  if (blocks_.empty() || prompt.size() < 2) return have;
  // Whole blocks only, and never the last token.
  const std::vector<uint64_t> keys = Keys(prompt.data(), static_cast<int>(prompt.size()) - 1);
  size_t found = 0;
  for (uint64_t parent = 0; found < keys.size(); parent = keys[found++])
    if (!Find(keys[found], parent, prompt.data() + found * kBlock)) break;
  Touch(keys, found);
  const int reach = static_cast<int>(found) * kBlock;
  if (reach <= have) return have;
  const int from = have / kBlock;  // the session keeps what it has up to a block boundary
  session.Truncate(from * kBlock);
  for (int b = from; b < static_cast<int>(found); ++b) {
    const Block& blk = blocks_.find(keys[static_cast<size_t>(b)])->second;
    Status s = session.AppendKv(blk.tokens.data(), kBlock, blk.kv.get(), blk.kv.get() + block_values_);
    if (!s.ok()) return session.pos();  // out of context: what was appended stays valid
  }
  return session.pos();
}

void PrefixCache::Keep(const Session& session, int n) {
  if (budget_ < static_cast<int64_t>(2 * block_values_ * sizeof(uint16_t))) return;
  const std::vector<int32_t>& tokens = session.tokens();
  n = std::min(n, session.ExactPrefix());  // only rows a fresh prefill would compute alike
  const std::vector<uint64_t> keys = Keys(tokens.data(), n);
  uint64_t parent = 0;
  for (size_t b = 0; b < keys.size(); parent = keys[b++]) {
    const int32_t* t = tokens.data() + b * kBlock;
    if (Find(keys[b], parent, t)) continue;
    if (blocks_.count(keys[b])) return;  // a hash collision with another prefix: keep the one there
    Block blk;
    blk.parent = parent;
    blk.tokens.assign(t, t + kBlock);
    blk.kv.reset(new uint16_t[2 * block_values_]);
    session.CopyKv(static_cast<int>(b) * kBlock, kBlock, blk.kv.get(), blk.kv.get() + block_values_);
    lru_.push_front(keys[b]);
    blk.lru = lru_.begin();
    blocks_.emplace(keys[b], std::move(blk));
    bytes_ += static_cast<int64_t>(2 * block_values_ * sizeof(uint16_t));
  }
  Touch(keys, keys.size());
  Evict();
}

}  // namespace tandem::engine
