// Shadow learning (routing.shadow): the gateway grades a sampled share of its own SLM answers with a judge model,
// so the SLM's self-knowledge router can be retrained on the traffic it serves and its drift seen live.
//
// RoutedCall draws the sample once the rules have decided (ShadowSampled: never for a request that privacy keeps
// local) and tees the answer's text through an AnswerTap. After the request's ledger row is written,
// StartShadowJudgment — for a sampled request the SLM tier answered successfully — spawns the judgment on the
// caller's event loop: the judge is asked whether the answer is right ("yes"/"no"), and the verdict becomes a
// ledger row of its own (shadow_of = the request, verdict, the draft's signals and P(right), the judge's cost) and
// a Metrics::shadow() sample. The client's answer never waits for it. At most routing.shadow.max_in_flight
// judgments run at once; a sample beyond that is skipped and counted. Thread contract: everything runs on the
// calling event loop; the in-flight count is atomic.
#pragma once

#include <memory>
#include <string>

#include "gateway/routed_call.h"
#include "gateway/runtime.h"

namespace tandem {

// A RoutedSink that forwards everything to `inner` and, when `capture`, keeps the answer's text (content deltas
// of a stream, or the message content of one body).
class AnswerTap final : public RoutedSink {
 public:
  AnswerTap(RoutedSink& inner, bool capture) : inner_(inner), capture_(capture) {}
  asio::awaitable<Status> body(std::string json) override;
  asio::awaitable<Status> chunk(std::string_view json) override;
  bool committed() const override { return inner_.committed(); }
  void attempt(const ModelInfo& m) override;
  void add_header(std::string name, std::string value) override { inner_.add_header(std::move(name), std::move(value)); }
  const std::string& text() const { return text_; }

 private:
  RoutedSink& inner_;
  bool capture_;
  std::string text_;
};

// Whether a routed call's answer is sampled for judging: shadow on, not kept local by privacy, a draw < sample.
bool ShadowSampled(const ShadowConfig& cfg, const Decision& d);

// The judge's prompt for a question and an answer, and its reply read as a verdict (1 right, 0 wrong, -1 none).
std::string JudgeRequestBody(const std::string& judge_model, const std::string& question, const std::string& answer);
int ParseVerdict(std::string_view reply);

// Starts the judgment of a sampled, SLM-served, successful call (does nothing otherwise). `row` is the request's
// ledger row as written.
void StartShadowJudgment(Runtime& rt, std::shared_ptr<const Snapshot> snap, const ChatRequest& req,
                         const RoutedOutcome& o, const LedgerRecord& row, const asio::any_io_executor& exec);

}  // namespace tandem
