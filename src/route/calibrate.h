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

// The cascade's min_confidence on a calibrated P(right), from labelled answers: p_right[i], and whether the SLM's
// (slm_right) and the LLM's (llm_right) answers to prompt i were right. Drafts with P(right) < min_confidence
// escalate. For a target LLM share (>= 0) the share closest to it; else for a target accuracy the smallest
// share whose accuracy (the SLM's on what it keeps, the LLM's on what escalates) reaches it.
struct CascadeCalibration {
  double min_confidence = 0.5;
  double llm_share = 0;       // of the labelled answers, at min_confidence
  double accuracy = 0;        // of the cascade, at min_confidence
  double slm_accuracy = 0;    // the SLM alone
  double llm_accuracy = 0;    // the LLM alone
  std::string note;           // why the target could not be met ("" when it was)
};
CascadeCalibration CalibrateCascade(const std::vector<double>& p_right, const std::vector<bool>& slm_right,
                                    const std::vector<bool>& llm_right, double target_share, double target_accuracy);

}  // namespace tandem
