// SlmHead: the trained part of the SLM-scored router — logistic regression over the small model's pooled hidden
// states of a prompt (engine/generate/embed.h: [mean ‖ last token], 2 * n_embd floats).
//
// The SLM is the encoder: the prefill it runs anyway yields the features, so deciding costs one dot product on
// top of it, and when the SLM keeps the request its KV cache already holds the prompt. Features are standardized
// with the training set's mean and spread (stored in the file). score() is the predicted probability that the
// large model is needed. Saved as a small versioned binary ("TNDSLM01", the encoder id, dim, mean, 1/std,
// weights, bias); Load() refuses a truncated or foreign file. Immutable after training or loading: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace tandem {

struct SlmHeadOptions {
  int epochs = 30;
  double learning_rate = 0.05;  // Adagrad
  double l2 = 1.0;  // strong: n_embd-wide features, few thousand examples (chosen on MMLU, src/eval/README.md)
  unsigned seed = 1;
};

class SlmHead {
 public:
  // rows: n vectors of equal size; labels in [0, 1] (1 = the strong model is needed).
  static SlmHead Train(const std::string& encoder_id, const std::vector<std::vector<float>>& rows,
                       const std::vector<double>& labels, const SlmHeadOptions& opt);
  static Result<SlmHead> Load(const std::string& path);
  Status Save(const std::string& path) const;

  const std::string& encoder_id() const { return encoder_id_; }
  size_t dim() const { return weights_.size(); }
  double score(const std::vector<float>& pooled) const;  // pooled.size() must equal dim()

 private:
  std::string encoder_id_;
  std::vector<float> mean_, inv_std_, weights_;
  float bias_ = 0;
};

}  // namespace tandem
