#include "engine/generate/generate.h"

#include <algorithm>
#include <chrono>

#include "core/utf8.h"

namespace tandem::engine {
namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Length of the longest suffix of s that is a proper prefix of some stop string.
size_t StopPrefixTail(std::string_view s, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& st : stops)
    for (size_t k = std::min(st.size() - 1, s.size()); k > best; --k)
      if (s.compare(s.size() - k, k, st, 0, k) == 0) {
        best = k;
        break;
      }
  return best;
}

}  // namespace

Result<int> Prefill(Session& session, const std::vector<int32_t>& prompt, std::vector<float>* hidden) {
  if (prompt.empty()) return Status(Code::kInvalidArgument, "empty prompt");
  const auto& cached = session.tokens();
  size_t common = 0;
  while (common < cached.size() && common < prompt.size() && cached[common] == prompt[common]) ++common;
  // At least one token must run to produce logits; hidden states need the whole prompt.
  if (hidden) common = 0;
  if (common == prompt.size()) --common;
  session.Truncate(static_cast<int>(common));
  Status s = session.Forward(prompt.data() + common, static_cast<int>(prompt.size() - common), hidden);
  if (!s.ok()) {
    session.Truncate(0);
    return s;
  }
  return static_cast<int>(common);
}

Result<GenerateResult> Generate(Session& session, const std::vector<int32_t>& prompt, const GenerateOptions& opts,
                                const TextCallback& on_text) {
  const Model& model = session.model();
  const Tokenizer& tok = model.tokenizer();
  const int n_vocab = model.config().n_vocab;
  GenerateResult r;
  r.prompt_tokens = static_cast<int>(prompt.size());
  if (static_cast<int>(prompt.size()) >= session.n_ctx())
    return Status(Code::kInvalidArgument, "prompt of " + std::to_string(prompt.size()) +
                                              " tokens does not fit the context of " + std::to_string(session.n_ctx()));
  auto t0 = std::chrono::steady_clock::now();
  auto cached = Prefill(session, prompt);
  if (!cached.ok()) return cached.status();
  r.cached_tokens = *cached;
  r.prefill_ms = MsSince(t0);
  t0 = std::chrono::steady_clock::now();

  Sampler sampler(opts.sampling);
  std::vector<int32_t> recent(prompt.end() - std::min<ptrdiff_t>(static_cast<ptrdiff_t>(prompt.size()), 256), prompt.end());
  std::vector<bool> allowed;
  std::string pending;                  // decoded but not yet handed to the callback
  std::vector<GeneratedToken> unsent;   // the tokens behind `pending`
  r.finish_reason = "length";
  for (int step = 0; step < opts.max_tokens; ++step) {
    const float* logits = session.logits().data();
    const std::vector<bool>* mask = nullptr;
    if (opts.constraint) {
      allowed.assign(static_cast<size_t>(n_vocab), false);
      if (!opts.constraint->Allowed(&allowed)) {
        r.finish_reason = "stop";
        break;
      }
      mask = &allowed;
    }
    const int32_t id = sampler.Sample(logits, n_vocab, recent, mask);
    if (id < 0) {
      r.finish_reason = "stop";
      break;
    }
    GeneratedToken info;
    info.id = id;
    if (opts.logprobs || opts.top_logprobs > 0)
      info.logprob = Sampler::LogProb(logits, n_vocab, id, opts.top_logprobs, &info.top);
    if (tok.IsEog(id)) {
      r.finish_reason = "stop";
      break;
    }
    if (opts.constraint) opts.constraint->Accept(id);
    r.tokens.push_back(id);
    recent.push_back(id);
    if (opts.logprobs || opts.top_logprobs > 0) r.token_info.push_back(info);
    pending += tok.Piece(id);
    unsent.push_back(info);

    // A stop string ends generation; the text before it is the answer.
    bool stopped = false;
    for (const std::string& st : opts.stop) {
      if (st.empty()) continue;
      const size_t at = pending.find(st);
      if (at != std::string::npos) {
        pending.resize(at);
        stopped = true;
      }
    }
    const size_t hold = stopped ? 0 : std::max(Utf8IncompleteTail(pending), StopPrefixTail(pending, opts.stop));
    if (pending.size() > hold) {
      const std::string delta = ToValidUtf8(std::string_view(pending.data(), pending.size() - hold));
      r.text.append(delta);
      const bool go_on = !on_text || on_text(delta, unsent);
      unsent.clear();
      if (!go_on) {
        r.finish_reason = "cancelled";
        pending.clear();
        break;
      }
      pending.erase(0, pending.size() - hold);
    }
    if (stopped) {
      r.finish_reason = "stop";
      pending.clear();
      break;
    }
    if (opts.constraint && opts.constraint->Complete()) {
      r.finish_reason = "stop";
      break;
    }
    if (step + 1 == opts.max_tokens) break;
    if (session.pos() + 1 > session.n_ctx()) break;  // context full: "length"
    if (Status s = session.Forward(&id, 1); !s.ok()) {
      if (session.pos() >= session.n_ctx()) break;
      return s;
    }
  }
  if (opts.constraint && !opts.constraint->Complete() && r.finish_reason != "cancelled")
    pending += opts.constraint->Close();  // out of budget: end the structure so the answer still parses
  if (!pending.empty()) {
    const std::string tail = ToValidUtf8(pending);  // an incomplete character at the very end
    r.text += tail;
    if (on_text) on_text(tail, unsent);
  }
  r.decode_ms = MsSince(t0);
  return r;
}

}  // namespace tandem::engine
