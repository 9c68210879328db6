// Generation over a Session: reuse of the cached prefix, batched prefill, sampling, stop conditions
// (end-of-generation tokens, stop strings, max tokens, a full context), per-token logprobs, and a callback that
// receives text as soon as it is safe to show — never half a UTF-8 character, never the start of a stop string
// that may still complete. An optional constraint masks the vocabulary at each step (JSON-schema decoding).
// Generation is the per-sequence state machine (prompt, then one token per step) that both Generate (one
// sequence) and engine/generate/batch.h (many, one forward per step) drive, so both behave the same. Thread
// safety is the Session's: one call at a time per Session and per Generation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/generate/sampler.h"
#include "engine/model/model.h"

namespace tandem::engine {

// Where the forward pass over a prompt that starts at `done` of `total` tokens ends: `chunk` tokens (a multiple of
// four) later, a tail under kBatchOrderMinRows joining the pass before it, so that a prompt of 8 tokens or more
// runs entirely in batch order with its groups of four where a single pass would have them. Every prefill cuts
// its prompt so: engine::Batch by its chunk per step, a prompt alone (Prefill, Generate) by kLonePass.
int ChunkAt(int done, int total, int chunk);
inline constexpr int kLonePass = 504;  // a multiple of four that stays within a 512-row pass with its tail

// Cache reuse that changes nothing: the longest prefix of `prompt` the session holds whose rows are its
// ExactPrefix (what any prefill cut by ChunkAt computes for them), cut to a multiple of four at least
// kBatchOrderMinRows short of the prompt's end, so the rest runs on the kernels a fresh prefill gives it. A prompt
// under kBatchOrderMinRows tokens reuses nothing. With it, a greedy answer is the same whatever ran in its slot
// before (llama.cpp's cache_prompt reuses up to the last token, which its documentation warns may change results).
int ReusablePrefix(const Session& session, const std::vector<int32_t>& prompt);
// How many leading tokens `a` and `b` share (at most `limit`).
int CommonPrefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b, size_t limit = SIZE_MAX);

// Runs tokens[0..n) at the session's position in passes cut by ChunkAt(·, n, chunk); `hidden` as for Forward.
Status ForwardPasses(Session& session, const int32_t* tokens, int n, int chunk, std::vector<float>* hidden = nullptr);

// Restricts which tokens may come next; used for JSON-schema-constrained decoding.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Fills allowed[id] for the next position (vector sized n_vocab). Returns false if generation must end now
  // (the constrained output is complete).
  virtual bool Allowed(std::vector<bool>* allowed) = 0;
  virtual void Accept(int32_t id) = 0;
  virtual bool Complete() const = 0;
  // Called when generation stops before Complete(): text that completes the output validly ("" if none).
  virtual std::string Close() { return ""; }
};

struct GenerateOptions {
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;
  int top_logprobs = 0;       // alternatives per token (0: none)
  bool logprobs = false;      // fill GeneratedToken::logprob
  TokenConstraint* constraint = nullptr;
};

struct GeneratedToken {
  int32_t id = 0;
  float logprob = 0;
  std::vector<TokenProb> top;
};

struct GenerateResult {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<GeneratedToken> token_info;  // when logprobs were asked for
  std::string finish_reason;               // "stop", "length" or "cancelled"
  int prompt_tokens = 0, cached_tokens = 0;
  double prefill_ms = 0, decode_ms = 0;
};

// Receives each newly safe piece of text with the tokens that produced it since the last call (several when
// text was held back — a partial UTF-8 character or a possible stop string — none for the grammar's closing
// text); return false to stop generating (finish_reason "cancelled").
using TextCallback = std::function<bool(std::string_view delta, const std::vector<GeneratedToken>& tokens)>;

// One sequence's generation, a step at a time. Begin() readies the session (keeping the longest cached prefix)
// and says which prompt tokens still have to run; after they have run — and after each token Step() returns —
// the session's logits predict the next token, and Step() samples it, reports text, and says whether to go on.
class Generation {
 public:
  Generation(const Model& model, const GenerateOptions& opts, TextCallback on_text = nullptr);

  // Checks that the prompt fits, truncates the session to the prefix it can reuse (ReusablePrefix) and returns
  // the tokens to run (in passes cut by ChunkAt).
  Result<std::vector<int32_t>> Begin(Session& session, const std::vector<int32_t>& prompt);
  // The prompt has run (prefill_ms is taken now).
  void Prefilled();
  // Samples the next token from `logits`. True: *next is to run at the session's next position (the context
  // has room). False: generation ended; result() is final.
  bool Step(const float* logits, int session_pos, int n_ctx, int32_t* next);
  GenerateResult& result() { return r_; }
  bool done() const { return done_; }

 private:
  bool Finish();

  const Model& model_;
  GenerateOptions opts_;
  TextCallback on_text_;
  Sampler sampler_;
  GenerateResult r_;
  std::vector<int32_t> recent_;
  std::vector<bool> allowed_;
  std::string pending_;                 // decoded but not yet handed to the callback
  std::vector<GeneratedToken> unsent_;  // the tokens behind `pending_`
  int steps_ = 0;
  bool done_ = false;
  std::chrono::steady_clock::time_point t0_;
};

Result<GenerateResult> Generate(Session& session, const std::vector<int32_t>& prompt, const GenerateOptions& opts,
                                const TextCallback& on_text = nullptr);

// Runs the prompt through the session (reusing its ReusablePrefix, the rest in kLonePass passes) and returns the
// number of tokens that were already cached. After it, session.logits() are the prediction for the next token.
Result<int> Prefill(Session& session, const std::vector<int32_t>& prompt, std::vector<float>* hidden = nullptr);

}  // namespace tandem::engine
