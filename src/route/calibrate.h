// Calibration: the learned router's threshold that sends a chosen share of traffic to the LLM.
//
// A threshold on a router score means nothing by itself; a share of traffic does. Given a sample of
// requests that resembles production, the rules decide some of them outright (fixed_llm of them to the
// LLM); the rest reach the learned router with a score each. CalibrateThreshold() picks the threshold
// (score >= threshold goes to the LLM) that makes the whole sample's LLM share as close to the target as
// the scores allow, halfway between two adjacent distinct scores so that small score noise does not flip
// decisions. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tandem {

struct Calibration {
  double threshold = 0.5;     // in [0, 1]
  double achieved_share = 0;  // LLM share of the sample at that threshold
  double rules_share = 0;     // share the rules alone send to the LLM (a floor for achieved_share)
  size_t learned = 0;         // requests the learned router decided
  std::string note;           // why the target could not be met exactly ("" when it was)
};

// `scores`: the learned router's score for each request it decides; `fixed_llm`: requests the rules send
// to the LLM; `total`: all requests in the sample (>= scores.size() + fixed_llm). `target` in [0, 1].
Calibration CalibrateThreshold(std::vector<double> scores, size_t fixed_llm, size_t total, double target);

}  // namespace tandem
