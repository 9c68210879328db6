// ConfidenceRouter: the deployed SLM's calibrated self-knowledge — the probability that its answer is right,
// from the confidence signals of that answer (logistic regression over standardised signals).
//
// It is trained by `tandem train --signals` on `tandem outcomes` files (the SLM's own outcomes, eval/outcomes.h)
// and applied to a draft by the cascade (gateway/cascade.h), or replayed offline by `tandem eval --router
// confidence:<file>`. The file names the SLM it was trained for (engine::EncoderId), and a router is applied only
// to that model's answers. The default signals are those any draft carries (token logprobs with one alternative),
// so a router trained on multiple-choice data applies to every answer. Immutable after Load/Fit; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace tandem {

// Signals every answer has: AnswerSignals() computes them, for `tandem outcomes` and the cascade alike.
inline const std::vector<std::string>& DraftSignalNames() {
  static const std::vector<std::string> names = {"first_prob", "first_margin", "mean_logprob", "min_logprob",
                                                 "answer_tokens"};
  return names;
}

// The signals a spec names: "draft" (DraftSignalNames) or a comma-separated list.
std::vector<std::string> SignalNamesFrom(const std::string& spec);

// One answer token: its logprob, and the logprobs of the most likely alternatives, best first (may be empty).
struct AnswerToken {
  double logprob = 0;
  std::vector<double> top;
};

// DraftSignalNames() of an answer: first_prob (the first token's probability), first_margin (its top
// alternative's probability minus the runner-up's; the first token's probability without alternatives),
// mean_logprob, min_logprob and answer_tokens. All 0 for an empty answer.
std::map<std::string, double> AnswerSignals(const std::vector<AnswerToken>& tokens);

class ConfidenceRouter {
 public:
  // rows[i][j]: signal j of answer i; right[i]: 1 when the SLM's answer was right. `l2` penalises the weights.
  static Result<ConfidenceRouter> Fit(const std::vector<std::string>& signals,
                                      const std::vector<std::vector<double>>& rows, const std::vector<double>& right,
                                      const std::string& slm, double l2 = 1e-3);
  static Result<ConfidenceRouter> Load(const std::string& path);
  Status Save(const std::string& path) const;

  // P(the answer is right). A missing signal is taken at its training mean.
  double p_right(const std::map<std::string, double>& signals) const;
  double p_right_row(const std::vector<double>& row) const;  // in signals() order

  const std::vector<std::string>& signals() const { return names_; }
  const std::string& slm() const { return slm_; }

 private:
  std::vector<double> Transform(std::vector<double> row) const;
  std::string slm_;
  std::vector<std::string> names_;
  std::vector<double> mean_, scale_, w_;
  double bias_ = 0;
};

}  // namespace tandem
