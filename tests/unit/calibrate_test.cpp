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

TEST(CalibrateCascade, TargetShareAndTargetAccuracy) {
  // Ten answers: the SLM is right on the six most confident, the LLM on all but one.
  std::vector<double> p = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
  std::vector<bool> slm = {false, false, false, false, true, true, true, true, true, true};
  std::vector<bool> llm = {true, true, true, false, true, true, true, true, true, true};
  CascadeCalibration s = CalibrateCascade(p, slm, llm, 0.3, -1);
  EXPECT_DOUBLE_EQ(s.llm_share, 0.3);
  EXPECT_NEAR(s.min_confidence, 0.35, 1e-12);  // between the third and fourth answer
  EXPECT_DOUBLE_EQ(s.accuracy, 0.9);           // 3 escalated and right, 6 kept and right
  EXPECT_DOUBLE_EQ(s.slm_accuracy, 0.6);
  EXPECT_DOUBLE_EQ(s.llm_accuracy, 0.9);
  CascadeCalibration a = CalibrateCascade(p, slm, llm, -1, 0.8);
  EXPECT_DOUBLE_EQ(a.llm_share, 0.2);  // the smallest share that reaches 80%
  EXPECT_DOUBLE_EQ(a.accuracy, 0.8);
  EXPECT_TRUE(a.note.empty());
  CascadeCalibration none = CalibrateCascade(p, slm, llm, -1, 0.99);
  EXPECT_FALSE(none.note.empty());
  EXPECT_DOUBLE_EQ(none.accuracy, 0.9);  // the best there is, at the smallest share that gets it
  EXPECT_DOUBLE_EQ(none.llm_share, 0.3);
  // Every draft stands at share 0; a threshold above every P(right) escalates all.
  EXPECT_LT(CalibrateCascade(p, slm, llm, 0, -1).min_confidence, 0.1);
  EXPECT_GT(CalibrateCascade(p, slm, llm, 1, -1).min_confidence, 0.95);
  EXPECT_FALSE(CalibrateCascade({}, {}, {}, 0.2, -1).note.empty());
}

TEST(CalibrateCascade, TiesAreNeverSplit) {
  std::vector<double> p = {0.2, 0.5, 0.5, 0.5, 0.9};
  std::vector<bool> r(5, true);
  CascadeCalibration c = CalibrateCascade(p, r, r, 0.4, -1);  // 2 of 5 would split the tie
  EXPECT_TRUE(c.llm_share == 0.2 || c.llm_share == 0.8) << c.llm_share;
}

}  // namespace
}  // namespace tandem
