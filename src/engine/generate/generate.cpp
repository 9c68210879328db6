#include "engine/generate/generate.h"

#include <algorithm>
#include <chrono>

#include "core/utf8.h"
#include "engine/kernels/vec_dot.h"

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

int ChunkAt(int done, int total, int chunk) {
  int end = done + chunk;
  if (total - end < kBatchOrderMinRows) end = total;  // a short tail would take other kernels: run it now
  return std::min(end, total);
}

int ReusablePrefix(const Session& session, const std::vector<int32_t>& prompt) {
  const int n = static_cast<int>(prompt.size());
  if (n < kBatchOrderMinRows) return 0;
  const int limit = std::min(session.ExactPrefix(), n - kBatchOrderMinRows);
  return CommonPrefix(session.tokens(), prompt, static_cast<size_t>(limit)) / 4 * 4;
}

int CommonPrefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b, size_t limit) {
  const size_t end = std::min({a.size(), b.size(), limit});
  size_t n = 0;
  while (n < end && a[n] == b[n]) ++n;
  return static_cast<int>(n);
}

Status ForwardPasses(Session& session, const int32_t* tokens, int n, int chunk, std::vector<float>* hidden) {
  std::vector<float> part;
  if (hidden) hidden->clear();
  for (int done = 0; done < n;) {
    const int end = ChunkAt(done, n, chunk);
    if (Status s = session.Forward(tokens + done, end - done, hidden ? &part : nullptr); !s.ok()) return s;
    if (hidden) hidden->insert(hidden->end(), part.begin(), part.end());
    done = end;
  }
  return Status::Ok();
}

Result<int> Prefill(Session& session, const std::vector<int32_t>& prompt, std::vector<float>* hidden) {
  if (prompt.empty()) return Status(Code::kInvalidArgument, "empty prompt");
  // Hidden states need the whole prompt.
  const int common = hidden ? 0 : ReusablePrefix(session, prompt);
  session.Truncate(common);
  Status s = ForwardPasses(session, prompt.data() + common, static_cast<int>(prompt.size()) - common, kLonePass, hidden);
  if (!s.ok()) {
    session.Truncate(0);
    return s;
  }
  return static_cast<int>(common);
}

Generation::Generation(const Model& model, const GenerateOptions& opts, TextCallback on_text)
    : model_(model), opts_(opts), on_text_(std::move(on_text)), sampler_(opts.sampling) {
  r_.finish_reason = "length";
}

Result<std::vector<int32_t>> Generation::Begin(Session& session, const std::vector<int32_t>& prompt) {
  r_.prompt_tokens = static_cast<int>(prompt.size());
  if (prompt.empty()) return Status(Code::kInvalidArgument, "empty prompt");
  if (static_cast<int>(prompt.size()) >= session.n_ctx())
    return Status(Code::kInvalidArgument, "prompt of " + std::to_string(prompt.size()) +
                                              " tokens does not fit the context of " + std::to_string(session.n_ctx()));
  t0_ = std::chrono::steady_clock::now();
  const int common = ReusablePrefix(session, prompt);
  session.Truncate(common);
  r_.cached_tokens = common;
  recent_.assign(prompt.end() - std::min<ptrdiff_t>(static_cast<ptrdiff_t>(prompt.size()), 256), prompt.end());
  return std::vector<int32_t>(prompt.begin() + static_cast<ptrdiff_t>(common), prompt.end());
}

void Generation::Prefilled() {
  r_.prefill_ms = MsSince(t0_);
  t0_ = std::chrono::steady_clock::now();
}

bool Generation::Step(const float* logits, int session_pos, int n_ctx, int32_t* next) {
  if (done_) return false;
  const Tokenizer& tok = model_.tokenizer();
  const int n_vocab = model_.config().n_vocab;
  if (steps_ >= opts_.max_tokens) return Finish();
  ++steps_;
  const std::vector<bool>* mask = nullptr;
  if (opts_.constraint) {
    allowed_.assign(static_cast<size_t>(n_vocab), false);
    if (!opts_.constraint->Allowed(&allowed_)) {
      r_.finish_reason = "stop";
      return Finish();
    }
    mask = &allowed_;
  }
  const int32_t id = sampler_.Sample(logits, n_vocab, recent_, mask);
  if (id < 0) {
    r_.finish_reason = "stop";
    return Finish();
  }
  GeneratedToken info;
  info.id = id;
  const bool want_lp = opts_.logprobs || opts_.top_logprobs > 0;
  if (want_lp) info.logprob = Sampler::LogProb(logits, n_vocab, id, opts_.top_logprobs, &info.top);
  if (tok.IsEog(id)) {
    r_.finish_reason = "stop";
    return Finish();
  }
  if (opts_.constraint) opts_.constraint->Accept(id);
  r_.tokens.push_back(id);
  recent_.push_back(id);
  if (want_lp) r_.token_info.push_back(info);
  pending_ += tok.Piece(id);
  unsent_.push_back(info);

  // A stop string ends generation; the text before it is the answer.
  bool stopped = false;
  for (const std::string& st : opts_.stop) {
    if (st.empty()) continue;
    const size_t at = pending_.find(st);
    if (at != std::string::npos) {
      pending_.resize(at);
      stopped = true;
    }
  }
  const size_t hold = stopped ? 0 : std::max(Utf8IncompleteTail(pending_), StopPrefixTail(pending_, opts_.stop));
  if (pending_.size() > hold) {
    const std::string delta = ToValidUtf8(std::string_view(pending_.data(), pending_.size() - hold));
    r_.text.append(delta);
    const bool go_on = !on_text_ || on_text_(delta, unsent_);
    unsent_.clear();
    if (!go_on) {
      r_.finish_reason = "cancelled";
      pending_.clear();
      return Finish();
    }
    pending_.erase(0, pending_.size() - hold);
  }
  if (stopped) {
    r_.finish_reason = "stop";
    pending_.clear();
    return Finish();
  }
  if (opts_.constraint && opts_.constraint->Complete()) {
    r_.finish_reason = "stop";
    return Finish();
  }
  if (steps_ == opts_.max_tokens || session_pos + 1 > n_ctx) return Finish();  // "length"
  *next = id;
  return true;
}

bool Generation::Finish() {
  done_ = true;
  if (opts_.constraint && !opts_.constraint->Complete() && r_.finish_reason != "cancelled")
    pending_ += opts_.constraint->Close();  // out of budget: end the structure so the answer still parses
  if (!pending_.empty()) {
    const std::string tail = ToValidUtf8(pending_);  // an incomplete character at the very end
    r_.text += tail;
    if (on_text_) on_text_(tail, unsent_);
    pending_.clear();
  }
  r_.decode_ms = MsSince(t0_);
  return false;
}

Result<GenerateResult> Generate(Session& session, const std::vector<int32_t>& prompt, const GenerateOptions& opts,
                                const TextCallback& on_text) {
  Generation g(session.model(), opts, on_text);
  auto run = g.Begin(session, prompt);
  if (!run.ok()) return run.status();
  if (Status s = ForwardPasses(session, run->data(), static_cast<int>(run->size()), kLonePass); !s.ok()) {
    session.Truncate(0);
    return s;
  }
  g.Prefilled();
  int32_t id = 0;
  while (g.Step(session.logits().data(), session.pos(), session.n_ctx(), &id))
    if (Status s = session.Forward(&id, 1); !s.ok()) return s;
  return std::move(g.result());
}

}  // namespace tandem::engine
