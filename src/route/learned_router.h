// LearnedRouter: a lightweight trained router — logistic regression over hashed text features.
//
// Features of a prompt (hashed into 2^bits slots; `tandem train` uses 2^18): lower-cased word unigrams and bigrams
// and character 4-grams of its first 512 and last 256 bytes, a bucketed length, digit/symbol density and line
// buckets and the heuristic task type; counts are log-scaled and the vector L2-normalised. score() is 0.5 plus half
// the strong model's predicted gain in accuracy on the prompt (RoutingTargets). Saved as a small versioned binary
// file ("TNDMLR05": feature set 04 with RoutingTargets' targets; bits, bias, float32 weights); a file of another
// format is refused with a message to retrain. Immutable after training or loading: thread-safe to score from every
// worker. Scoring counts into a per-thread dense array of bytes and reads the weights rounded to bfloat16 (under
// 0.4% each; the MMLU figures are unchanged), so both fit in a core's L2: no allocation once warm, no branch per
// feature, and a bounded cost on any prompt length (2.5-3.5 us on a 2,000-token prompt with 2^18 slots;
// bench/route).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace tandem {

using SparseVector = std::vector<std::pair<uint32_t, float>>;

struct TrainOptions {
  int bits = 14;
  int epochs = 6;
  double learning_rate = 0.05;  // Adagrad
  double l2 = 1e-6;
  unsigned seed = 1;
};

// Training targets in [0, 1]: (1 + strong - weak) / 2 for each prompt (qualities in [0, 1]), so a score is
// 0.5 plus half the strong model's expected gain in accuracy (0.5: both as good; 0.6: the strong one 20 points
// likelier to be right). With domains (one per prompt; training metadata such as an MMLU subject, never seen
// by the router) each target is pooled toward its domain's mean: (1 - pooling) * own + pooling * mean. Single
// outcomes are coin flips around a prompt's true difficulty; the pooled target is a far steadier one (MMLU
// half splits: APGR +0.02-0.03 at pooling 0.75, src/eval/README.md).
std::vector<double> RoutingTargets(const std::vector<double>& weak, const std::vector<double>& strong,
                                   const std::vector<std::string>& domains, double pooling);

// What `tandem train` uses for the two-model router: 2^18 slots (1 MiB of weights) and rate 0.01 beat 2^14
// slots at 0.05 by APGR +0.02 on MMLU half splits (src/eval/README.md has the sweep).
inline TrainOptions LearnedRouterDefaults() {
  TrainOptions o;
  o.bits = 18;
  o.learning_rate = 0.01;
  return o;
}

// Logistic regression by Adagrad over hashed sparse features (2^opt.bits weights); returns the bias. Labels
// are probabilities in [0, 1]. Deterministic for a given seed.
double FitLogistic(const std::vector<SparseVector>& xs, const std::vector<double>& labels, const TrainOptions& opt,
                   std::vector<float>* weights);

// bias[h] + w[h]·x for each of `heads` weight vectors (2^bits floats each) over the prompt's features x, in one
// pass with no allocation once warm: the multi-model router's scoring (the learned router has its own single-head
// loop over bfloat16 weights).
void LinearScores(std::string_view prompt, std::string_view task, int bits, const float* const* weights,
                  const float* biases, size_t heads, double* out);

// The 8-byte magic of a router file: six bytes of kind, two of feature-set version. A file of the right kind but
// another version is refused with a message to retrain (its weights belong to other features).
Status CheckRouterMagic(const char* magic, const char* expected, const char* what, const std::string& path);

class LearnedRouter {
 public:
  static SparseVector Featurize(std::string_view prompt, int bits);

  // Trains on (prompt, target) pairs: targets from RoutingTargets.
  static LearnedRouter Train(const std::vector<std::string>& prompts, const std::vector<double>& labels,
                             const TrainOptions& opt);
  static Result<LearnedRouter> Load(const std::string& path);
  Status Save(const std::string& path) const;

  double score(std::string_view prompt) const;
  // The same, with the prompt's task type already known (features.h computes it once per request).
  double score(std::string_view prompt, std::string_view task) const;
  int bits() const { return bits_; }

 private:
  void Pack();  // packed_ from weights_

  int bits_ = 16;
  float bias_ = 0;
  std::vector<float> weights_;    // as trained and saved
  std::vector<uint16_t> packed_;  // the same in bfloat16, which score() reads: half the cache footprint
};

}  // namespace tandem
