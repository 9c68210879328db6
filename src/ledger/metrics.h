// Metrics: counters and histograms, exposed in the Prometheus text format at GET /metrics.
//
// Recorded once per request by the gateway (record()), and per route decision. Cheap: one mutex per
// call, held for a few map updates. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "ledger/record.h"

namespace tandem {

class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                                     0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
                                                     0.1,     0.25,     1.0,     5.0};
  void observe(double seconds);
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<uint64_t, kBounds.size() + 1> counts_{};
  double sum_ = 0;
  uint64_t n_ = 0;
};

class Metrics {
 public:
  void record(const LedgerRecord& r);
  void decision(const std::string& model, const std::string& tier, const std::string& rule);
  void in_flight(int delta);
  // A cascade's verdict on an SLM draft: "accepted" or "escalated".
  void cascade(const std::string& outcome);
  // A shadow judgment (routing.shadow): verdict 1 right / 0 wrong, the cascade router's P(right) for that answer
  // (-1: none), what the judge cost. `generation` names the configuration in force: the live estimates cover the
  // last kShadowWindow judgments made under it (a reload may bring another router).
  static constexpr size_t kShadowWindow = 1000;
  void shadow(int verdict, double p_right, double cost_usd, uint64_t generation);
  // A sampled answer that was not judged: "failed" (the judge erred or gave no verdict) or "skipped" (too many
  // judgments in flight).
  void shadow_missed(const std::string& why);
  // Prometheus text; the target gauge is written when the learned router was calibrated (>= 0).
  std::string render(double target_llm_share = -1) const;
  // Realised share of routed (model=auto/alias) requests that went to the LLM tier.
  double llm_share() const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // model, tier, http status
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> decisions_;  // model, tier, rule
  std::map<std::string, uint64_t> cascade_;                                          // outcome -> count
  std::map<std::pair<std::string, std::string>, uint64_t> tokens_;                   // model, direction
  std::map<std::string, double> cost_;                                               // model
  double baseline_ = 0;
  std::map<std::string, Histogram> latency_, ttft_;  // tier
  Histogram overhead_;
  uint64_t routed_ = 0, routed_llm_ = 0;
  std::map<std::string, uint64_t> shadow_;  // right | wrong | failed | skipped -> count
  double shadow_cost_ = 0;
  uint64_t shadow_generation_ = 0;
  std::deque<std::pair<double, int>> shadow_window_;  // (P(right), verdict), newest last
  int64_t in_flight_ = 0;
};

}  // namespace tandem
