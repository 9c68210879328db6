// MultiRouter: routing among more than two models by a quality-cost trade-off or a per-request budget.
//
// For each of K models a logistic head over the learned router's hashed prompt features predicts the
// probability that the model answers the prompt well. A decision weighs those against each model's expected
// cost for this request (USD; from the configured prices at the gateway, from recorded costs offline):
//   - Choose(lambda): the model maximising  p_m - lambda * cost_m / max_j cost_j. lambda = 0 buys the best
//     predicted answer at any price; as lambda grows, cheaper models win; lambda ~ 1 means "a model costing
//     the most is worth one whole answer less".
//   - ChooseWithinBudget(budget): the best predicted model whose expected cost fits the budget (the cheapest
//     one when none fits).
// Saved as a small versioned binary ("TNDMMR03", bits, K, names, mean training cost, heads). Immutable after
// training or loading: thread-safe. Scores every head in one pass over the prompt's features.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "route/learned_router.h"

namespace tandem {

class MultiRouter {
 public:
  // quality[i][m] in [0, 1] for prompt i and model m; cost[i][m] in USD (may be empty: then 1 per call).
  static MultiRouter Train(const std::vector<std::string>& prompts, const std::vector<std::string>& models,
                           const std::vector<std::vector<double>>& quality,
                           const std::vector<std::vector<double>>& cost, const TrainOptions& opt);
  static Result<MultiRouter> Load(const std::string& path);
  Status Save(const std::string& path) const;

  const std::vector<std::string>& models() const { return models_; }
  // Mean cost per call of each model in the training data (USD): the offline cost estimate.
  const std::vector<double>& mean_cost() const { return mean_cost_; }
  // Predicted probability that each model answers well.
  std::vector<double> Predict(std::string_view prompt) const;
  // The same with the prompt's task type already known (the gateway computes it once per request).
  std::vector<double> Predict(std::string_view prompt, std::string_view task) const;

  // Index of the chosen model among candidates (cost < 0 marks a model that may not be chosen). -1 if none.
  static int Choose(const std::vector<double>& p, const std::vector<double>& cost, double lambda);
  static int ChooseWithinBudget(const std::vector<double>& p, const std::vector<double>& cost, double budget);

 private:
  int bits_ = 14;
  std::vector<std::string> models_;
  std::vector<double> mean_cost_;
  std::vector<float> bias_;
  std::vector<std::vector<float>> weights_;  // [model][2^bits]
};

}  // namespace tandem
