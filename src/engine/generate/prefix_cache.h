// PrefixCache: the keys and values of prompt prefixes, kept across requests and slots so that a later prompt
// starting with the same tokens (a system prompt, tool definitions, earlier turns) does not compute them again.
// Prefixes are stored in blocks of kBlock tokens; block k of a prompt is keyed by a hash of tokens [0, (k+1)B)
// chained through its parent, and found only when its own tokens and its parent both match, so a block is
// reused only after exactly the tokens it was computed after, at exactly its positions. Blocks live under a
// byte budget; the least recently used goes first, and a block is always used more recently than its
// descendants, so a prefix is evicted from its end.
//
// Only rows a fresh prefill computes alike are kept (Session::ExactPrefix), and a session reuses them only as far as
// generate.h's ReusablePrefix allows, so a reused block changes no result: it holds what a fresh prefill of the
// prompt computes for those tokens at those positions.
// Thread contract: not thread-safe; the engine thread owns it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/model/model.h"

namespace tandem::engine {

class PrefixCache {
 public:
  static constexpr int kBlock = 64;

  // `budget_bytes` <= 0 keeps nothing.
  PrefixCache(const ModelConfig& config, int64_t budget_bytes);

  // Extends `session` with the longest run of kept blocks that starts `prompt` beyond what the session already
  // shares with it (never the prompt's last token: that one must run to give logits). Returns how many tokens
  // the session shares with `prompt` afterwards.
  int Seed(Session& session, const std::vector<int32_t>& prompt);
  // Keeps the whole blocks among the session's first `n` cached tokens that are not kept yet.
  void Keep(const Session& session, int n);

  int64_t bytes() const { return bytes_; }
  size_t blocks() const { return blocks_.size(); }

 private:
  struct Block {
    uint64_t parent = 0;             // key of the block before it (0 for the first)
    std::vector<int32_t> tokens;     // its kBlock tokens
    std::unique_ptr<uint16_t[]> kv;  // keys then values, each [layer][kBlock][kv_dim] fp16
    std::list<uint64_t>::iterator lru;
  };
  // Keys of the whole blocks of tokens[0..n), in order.
  static std::vector<uint64_t> Keys(const int32_t* tokens, int n);
  const Block* Find(uint64_t key, uint64_t parent, const int32_t* tokens) const;
  void Touch(const std::vector<uint64_t>& keys, size_t n);
  void Evict();

  size_t block_values_;  // uint16 values in one block's keys (as many again for its values)
  int64_t budget_;
  int64_t bytes_ = 0;
  std::unordered_map<uint64_t, Block> blocks_;
  std::list<uint64_t> lru_;  // most recent first
};

}  // namespace tandem::engine
