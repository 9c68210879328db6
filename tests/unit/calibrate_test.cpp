#include "route/calibrate.h"

#include <gtest/gtest.h>

#include <random>

namespace tandem {
namespace {

size_t CountAtOrAbove(const std::vector<double>& s, double t) {
  size_t n = 0;
  for (double x : s) n += x >= t;
  return n;
}

TEST(Calibrate, HitsTheTargetShareOnDistinctScores) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> scores(1000);
  for (auto& s : scores) s = u(rng);
  for (double target : {0.0, 0.05, 0.2, 0.5, 0.8, 1.0}) {
    Calibration c = CalibrateThreshold(scores, 0, scores.size(), target);
    EXPECT_NEAR(c.achieved_share, target, 1e-9) << target;
    EXPECT_EQ(CountAtOrAbove(scores, c.threshold), static_cast<size_t>(target * 1000 + 0.5)) << target;
    EXPECT_GE(c.threshold, 0);
    EXPECT_LE(c.threshold, 1);
    EXPECT_TRUE(c.note.empty()) << c.note;
  }
}

TEST(Calibrate, CountsWhatTheRulesAlreadySendToTheLlm) {
  // 100 requests: 10 to the LLM by rule, 90 scored. A 20% target leaves 10 for the learned router.
  std::vector<double> scores;
  for (int i = 0; i < 90; ++i) scores.push_back(i / 100.0);
  Calibration c = CalibrateThreshold(scores, 10, 100, 0.2);
  EXPECT_NEAR(c.rules_share, 0.10, 1e-12);
  EXPECT_NEAR(c.achieved_share, 0.20, 1e-12);
  EXPECT_EQ(CountAtOrAbove(scores, c.threshold), 10u);
  EXPECT_NEAR(c.threshold, 0.795, 1e-12);  // halfway between 0.79 (stays) and 0.80 (the lowest that goes)
}

TEST(Calibrate, ExplainsAnUnreachableTarget) {
  std::vector<double> scores = {0.1, 0.2, 0.3};
  Calibration above = CalibrateThreshold(scores, 5, 10, 0.2);  // rules already send 50%
  EXPECT_EQ(CountAtOrAbove(scores, above.threshold), 0u);
  EXPECT_NEAR(above.achieved_share, 0.5, 1e-12);
  EXPECT_NE(above.note.find("rules alone"), std::string::npos);
  Calibration below = CalibrateThreshold(scores, 0, 10, 0.9);  // only 3 of 10 can go
  EXPECT_NEAR(below.achieved_share, 0.3, 1e-12);
  EXPECT_NE(below.note.find("below"), std::string::npos);
}

TEST(Calibrate, TiesGoToTheNearerSide) {
  // 10 scores, 4 of them tied at 0.5 straddling a 30% cut: 2 above the tie, the tie would make 6.
  std::vector<double> scores = {0.9, 0.8, 0.5, 0.5, 0.5, 0.5, 0.2, 0.1, 0.05, 0.0};
  Calibration c = CalibrateThreshold(scores, 0, 10, 0.3);
  EXPECT_EQ(CountAtOrAbove(scores, c.threshold), 2u);  // |2-3| < |6-3|
  EXPECT_FALSE(c.note.empty());
  Calibration d = CalibrateThreshold(scores, 0, 10, 0.5);
  EXPECT_EQ(CountAtOrAbove(scores, d.threshold), 6u);  // |6-5| < |2-5|
}

TEST(Calibrate, EmptySample) {
  Calibration c = CalibrateThreshold({}, 0, 0, 0.2);
  EXPECT_FALSE(c.note.empty());
}

}  // namespace
}  // namespace tandem
