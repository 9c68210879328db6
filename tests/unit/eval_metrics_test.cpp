#include "eval/metrics.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace tandem::eval {
namespace {

std::vector<double> Doubles(simdjson::dom::array a) {
  std::vector<double> out;
  for (auto v : a) out.push_back(v.is_bool() ? (v.get_bool().value() ? 1.0 : 0.0) : v.get_double().value());
  return out;
}

// Figures computed by pandas/numpy the way RouteLLM's evaluator computes them
// (tests/golden/routellm_metrics.py).
TEST(RouteLlmMetrics, MatchPandasAndNumpyOnFixedScoreVectors) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.load(TANDEM_SOURCE_DIR "/tests/golden/routellm_metrics.json");
  int cases = 0;
  for (simdjson::dom::element c : root["cases"].get_array()) {
    std::string name(c["name"].get_string().value());
    auto scores = Doubles(c["scores"].get_array());
    auto weak = Doubles(c["weak"].get_array());
    auto strong = Doubles(c["strong"].get_array());
    auto curve = RouteLlmCurve(scores, weak, strong, 10);
    size_t i = 0;
    for (simdjson::dom::element p : c["curve"].get_array()) {
      ASSERT_LT(i, curve.size());
      EXPECT_NEAR(curve[i].threshold, p["threshold"].get_double().value(), 1e-12) << name << " point " << i;
      EXPECT_NEAR(curve[i].strong_pct, p["strong_percentage"].get_double().value(), 1e-9) << name;
      EXPECT_NEAR(curve[i].accuracy, p["accuracy"].get_double().value(), 1e-9) << name;
      ++i;
    }
    EXPECT_EQ(i, curve.size());
    Metrics m = Summarize(curve, c["weak_acc"].get_double().value(), c["strong_acc"].get_double().value());
    simdjson::dom::element want = c["metrics"];
    EXPECT_NEAR(m.cpt20, want["cpt20"].get_double().value(), 1e-9) << name;
    EXPECT_NEAR(m.cpt50, want["cpt50"].get_double().value(), 1e-9) << name;
    EXPECT_NEAR(m.cpt80, want["cpt80"].get_double().value(), 1e-9) << name;
    EXPECT_NEAR(m.auc, want["auc"].get_double().value(), 1e-9) << name;
    EXPECT_NEAR(m.apgr, want["apgr"].get_double().value(), 1e-9) << name;
    ++cases;
  }
  EXPECT_EQ(cases, 5);
}

TEST(RouteLlmMetrics, OracleAndRandomBaselines) {
  // Weak right on 6 of 10, strong right on 8; 3 prompts only the strong model gets right.
  std::vector<double> weak = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  std::vector<double> strong = {1, 1, 1, 1, 0, 1, 1, 1, 1, 0};
  auto oracle = OracleCurve(weak, strong);
  ASSERT_EQ(oracle.size(), 11u);
  EXPECT_DOUBLE_EQ(oracle[0].accuracy, 60);  // no strong calls
  EXPECT_DOUBLE_EQ(oracle[3].accuracy, 90);  // 30% strong calls fix all three
  EXPECT_DOUBLE_EQ(oracle[10].accuracy, 90);
  Metrics m = Summarize(oracle, 60, 80);
  EXPECT_NEAR(m.cpt50, 10.0, 1e-9);  // half of the 20-point gap at 10% strong calls
  EXPECT_NEAR(PgrAt(oracle, 20, 60, 80), 1.0, 1e-9);
}

TEST(NumpyInterp, SortedInputIsPlainLinearInterpolation) {
  std::vector<double> xp = {0, 1, 2, 3, 4, 5};
  std::vector<double> fp = {0, 10, 20, 30, 40, 50};
  EXPECT_DOUBLE_EQ(NumpyInterp(2.5, xp, fp), 25);
  EXPECT_DOUBLE_EQ(NumpyInterp(-1, xp, fp), 0);
  EXPECT_DOUBLE_EQ(NumpyInterp(9, xp, fp), 50);
  EXPECT_DOUBLE_EQ(NumpyInterp(5, xp, fp), 50);
}

}  // namespace
}  // namespace tandem::eval
