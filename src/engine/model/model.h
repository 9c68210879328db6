// Model: the weights of one GGUF file, bound by name and checked for shape, plus its tokenizer. Immutable after
// Load and shared (shared_ptr) by any number of Sessions on any threads.
//
// Session: one sequence's KV cache and scratch memory, and the forward pass. Forward(tokens) appends tokens at
// the current position, runs every layer over them as one batch, and leaves the last token's logits (and, if
// asked, every token's final hidden state). ForwardMany runs several sessions' tokens in one pass over the
// weights (continuous batching): each sequence's rows keep the arithmetic they would have alone, so what one
// sequence computes never depends on what else is in the batch. Not thread-safe: one forward at a time per
// Session, and the ThreadPool it is given must not run anything else meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/config.h"
#include "engine/runtime/thread_pool.h"
#include "engine/tokenizer/tokenizer.h"

namespace tandem::engine {

struct LayerWeights {
  const TensorInfo *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
  const TensorInfo* wqkv = nullptr;  // phi3: q, k and v rows in one matrix (then wq, wk, wv are null)
  const TensorInfo *bq = nullptr, *bk = nullptr, *bv = nullptr;           // qwen2
  const TensorInfo *q_norm = nullptr, *k_norm = nullptr;                  // gemma3
  const TensorInfo *post_attn_norm = nullptr, *post_ffn_norm = nullptr;  // gemma3
  const TensorInfo *ffn_norm = nullptr, *gate = nullptr, *up = nullptr, *down = nullptr;
  bool fused_up = false;  // phi3: `up` holds the gate rows then the up rows (and `gate` is null)
};

class Model {
 public:
  static Result<std::shared_ptr<Model>> Load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const GgufFile& file() const { return *file_; }

  const TensorInfo* tok_embd() const { return tok_embd_; }
  const TensorInfo* output() const { return output_; }
  const TensorInfo* output_norm() const { return output_norm_; }
  // Per-frequency RoPE divisors for a session of n_ctx positions (rope_freqs, or phi3's short/long), or null.
  const TensorInfo* rope_factors(int n_ctx) const {
    if (rope_freqs_) return rope_freqs_;
    return n_ctx > config_.rope_ctx_orig && rope_long_ ? rope_long_ : rope_short_;
  }
  const std::vector<LayerWeights>& layers() const { return layers_; }

 private:
  Model() = default;
  Status Bind();

  std::unique_ptr<GgufFile> file_;
  ModelConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  const TensorInfo *tok_embd_ = nullptr, *output_ = nullptr, *output_norm_ = nullptr, *rope_freqs_ = nullptr;
  const TensorInfo *rope_short_ = nullptr, *rope_long_ = nullptr;
  std::vector<LayerWeights> layers_;
};

class Session;

// One sequence's share of a batched forward: `n` tokens appended to `session` at its position.
struct BatchItem {
  Session* session = nullptr;
  const int32_t* tokens = nullptr;
  int n = 0;
};

class Session {
 public:
  Session(std::shared_ptr<const Model> model, int n_ctx, ThreadPool* pool);
  ~Session();

  const Model& model() const { return *model_; }
  int n_ctx() const { return n_ctx_; }
  int pos() const { return pos_; }
  // The tokens whose keys and values the cache holds, in order (pos() of them).
  const std::vector<int32_t>& tokens() const { return tokens_; }
  // Forgets cached positions from n on (0 clears the sequence); the first n stay usable as a prefix.
  void Truncate(int n) {
    pos_ = n < pos_ ? (n < 0 ? 0 : n) : pos_;
    tokens_.resize(static_cast<size_t>(pos_));
    exact_.resize(static_cast<size_t>(pos_));
  }
  // How many leading cached positions hold exactly what a fresh prefill of a long prompt computes for them: each
  // ran in a pass of at least kBatchOrderMinRows rows of its sequence (batch order) and inside a whole group of
  // four rows from that pass's start (the multi-row kernels; a pass's last rows past its fours take the
  // single-row ones, which round some formats differently). Reusing them changes nothing (ReusablePrefix).
  int ExactPrefix() const;
  // Tokens per Forward pass (llama.cpp's n_ubatch): Forward cuts a prompt every MaxRows() tokens.
  static int MaxRows();

  // Runs tokens[0..n) at positions pos()..pos()+n-1. On success logits() holds the last token's logits. If
  // hidden is not null it receives n * n_embd floats: each token's final (normalized) hidden state.
  Status Forward(const int32_t* tokens, int n, std::vector<float>* hidden = nullptr);
  const std::vector<float>& logits() const { return logits_; }

  // Runs every item in one pass: each session's tokens at its own positions against its own cache, the rows of
  // all items together in each matmul (weights read once per step), then each session's last-token logits.
  // Sessions must be distinct and share one model; the first item's session lends its scratch and thread pool.
  // Each item's rows are computed exactly as a Forward of that item alone would compute them. An item that does
  // not fit its context (or holds an unknown token) fails the whole call before anything runs.
  static Status ForwardMany(const BatchItem* items, int n_items);

  // The keys and values of cached positions [pos, pos+n) (pos+n <= pos()) of every layer, written as
  // [layer][n][kv_dim] fp16 to `k` and to `v` (for the prefix cache).
  void CopyKv(int pos, int n, uint16_t* k, uint16_t* v) const;
  // Extends the cache at pos() with n tokens whose keys and values, laid out as CopyKv writes them, this model
  // computed in batch order at exactly these positions after exactly the tokens already cached: afterwards the
  // session is as if Forward had run them, except that logits() is unchanged (run at least one more token).
  Status AppendKv(const int32_t* tokens, int n, const uint16_t* k, const uint16_t* v);

 private:
  struct Scratch;
  // One pass over the items (at most MaxBatch() rows in all); `hidden` only for a single item.
  static void ForwardPass(const BatchItem* items, int n_items, std::vector<float>* hidden);
  Status Check(const int32_t* tokens, int n) const;

  std::shared_ptr<const Model> model_;
  int n_ctx_;
  ThreadPool* pool_;
  int pos_ = 0;
  std::vector<int32_t> tokens_;
  std::vector<uint8_t> exact_;  // per cached position: 1 when computed as ExactPrefix() requires
  // [layer][pos][kv_dim] in fp16; left uninitialized, so a slot's memory is committed only as positions fill.
  std::unique_ptr<uint16_t[]> k_cache_, v_cache_;
  std::vector<float> logits_;
  std::unique_ptr<Scratch> s_;
};

}  // namespace tandem::engine
