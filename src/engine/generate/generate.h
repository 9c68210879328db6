// Generation loop over a Session: reuse of the cached prefix, batched prefill, sampling, stop conditions
// (end-of-generation tokens, stop strings, max tokens, a full context), per-token logprobs, and a callback that
// receives text as soon as it is safe to show — never half a UTF-8 character, never the start of a stop string
// that may still complete. An optional constraint masks the vocabulary at each step (JSON-schema decoding).
// Generate is a free function: its thread-safety is the Session's (one call at a time per Session).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/generate/sampler.h"
#include "engine/model/model.h"

namespace tandem::engine {

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

Result<GenerateResult> Generate(Session& session, const std::vector<int32_t>& prompt, const GenerateOptions& opts,
                                const TextCallback& on_text = nullptr);

// Runs the prompt through the session (reusing the longest cached prefix) and returns the number of tokens that
// were already cached. After it, session.logits() are the prediction for the next token.
Result<int> Prefill(Session& session, const std::vector<int32_t>& prompt, std::vector<float>* hidden = nullptr);

}  // namespace tandem::engine
