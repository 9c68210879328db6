#include "route/multi_router.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "eval/multi_eval.h"

namespace tandem {
namespace {

TEST(MultiRouter, ChoosesByTradeOffAndBudget) {
  std::vector<double> p = {0.50, 0.70, 0.90};      // cheap, middle, expensive
  std::vector<double> cost = {0.001, 0.01, 0.1};
  EXPECT_EQ(MultiRouter::Choose(p, cost, 0), 2);    // quality at any price
  EXPECT_EQ(MultiRouter::Choose(p, cost, 0.15), 2); // costs relative to the dearest: 0.9-0.15 > 0.7-0.015
  EXPECT_EQ(MultiRouter::Choose(p, cost, 0.5), 1);  // 0.7-0.05 > 0.9-0.5 and > 0.5-0.005
  EXPECT_EQ(MultiRouter::Choose(p, cost, 5), 0);
  std::vector<double> masked = {0.001, -1, 0.1};    // the middle model may not serve this request
  EXPECT_EQ(MultiRouter::Choose(p, masked, 0.5), 0);
  EXPECT_EQ(MultiRouter::ChooseWithinBudget(p, cost, 0.05), 1);
  EXPECT_EQ(MultiRouter::ChooseWithinBudget(p, cost, 1), 2);
  EXPECT_EQ(MultiRouter::ChooseWithinBudget(p, cost, 0.0001), 0);  // nothing fits: the cheapest
  EXPECT_EQ(MultiRouter::Choose({0.5, 0.5}, {0.2, 0.1}, 0), 1);    // a tie goes to the cheaper
}

TEST(MultiRouter, LearnsWhichModelKnowsWhatAndRoundTrips) {
  // Model 0 answers questions about fruit, model 1 questions about planets; both know nothing else.
  std::vector<std::string> prompts;
  std::vector<std::vector<double>> q, c;
  const char* fruit[] = {"apple", "banana", "cherry", "mango", "pear"};
  const char* planet[] = {"mars", "venus", "jupiter", "saturn", "neptune"};
  for (int i = 0; i < 200; ++i) {
    bool f = i % 2 == 0;
    prompts.push_back(std::string("tell me about the ") + (f ? fruit[i % 5] : planet[i % 5]) + " please");
    q.push_back({f ? 1.0 : 0.0, f ? 0.0 : 1.0});
    c.push_back({0.001, 0.002});
  }
  TrainOptions opt;
  opt.bits = 12;
  opt.epochs = 20;  // a toy set: enough passes to be sure at the default (cautious) learning rate
  MultiRouter r = MultiRouter::Train(prompts, {"fruity", "astro"}, q, c, opt);
  EXPECT_NEAR(r.mean_cost()[0], 0.001, 1e-12);
  auto pf = r.Predict("tell me about the banana please");
  auto pp = r.Predict("tell me about the saturn please");
  EXPECT_GT(pf[0], 0.8);
  EXPECT_LT(pf[1], 0.2);
  EXPECT_GT(pp[1], 0.8);

  std::string path = testing::TempDir() + "/multi.tmr";
  ASSERT_TRUE(r.Save(path).ok());
  auto loaded = MultiRouter::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->models(), r.models());
  EXPECT_EQ(loaded->Predict("tell me about the mars please"), r.Predict("tell me about the mars please"));

  // Truncated and foreign files are refused with a reason.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), 200);
  auto cut = MultiRouter::Load(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos) << cut.status().message();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "TNDMLR01 not this kind";
  EXPECT_NE(MultiRouter::Load(path).status().message().find("bad magic"), std::string::npos);
}

TEST(MultiEval, AiqOfTheHull) {
  using eval::Aiq;
  using eval::CostQuality;
  // Two models: (1, 50) and (3, 90); their hull is the segment, mean height over [1, 3] is 70.
  EXPECT_NEAR(Aiq({{1, 50}, {3, 90}}, 1, 3), 70, 1e-9);
  // A point under the hull changes nothing; one above lifts it.
  EXPECT_NEAR(Aiq({{1, 50}, {2, 60}, {3, 90}}, 1, 3), 70, 1e-9);
  EXPECT_NEAR(Aiq({{1, 50}, {2, 90}, {3, 90}}, 1, 3), (70 + 90) / 2.0, 1e-9);
  // Spending more for less does not pull the curve down (non-decreasing).
  EXPECT_NEAR(Aiq({{1, 50}, {2, 90}, {3, 40}}, 1, 3), (70 + 90) / 2.0, 1e-9);
}

TEST(MultiEval, OracleAndRouterOnAPerfectSplit) {
  eval::MultiDataset d;
  d.models = {"fruity", "astro"};
  const char* fruit[] = {"apple", "banana", "cherry", "mango", "pear"};
  const char* planet[] = {"mars", "venus", "jupiter", "saturn", "neptune"};
  for (int i = 0; i < 200; ++i) {
    bool f = i % 2 == 0;
    d.prompts.push_back(std::string("tell me about the ") + (f ? fruit[i % 5] : planet[i % 5]) + " please");
    d.quality.push_back({f ? 1.0 : 0.0, f ? 0.0 : 1.0});
    d.cost.push_back({0.001, 0.002});
  }
  TrainOptions opt;
  opt.bits = 12;
  opt.epochs = 20;  // a toy set: enough passes to be sure at the default (cautious) learning rate
  MultiRouter r = MultiRouter::Train(d.prompts, d.models, d.quality, d.cost, opt);
  eval::MultiResult res = eval::EvalMulti(d, r);
  EXPECT_NEAR(res.models[0].quality, 50, 1e-9);
  EXPECT_NEAR(res.oracle.quality, 100, 1e-9);
  EXPECT_NEAR(res.oracle.cost, 0.0015, 1e-12);
  EXPECT_NEAR(res.curve.front().at.quality, 100, 1e-9);  // lambda = 0: each prompt to the model that knows
  EXPECT_GT(res.aiq, res.aiq_zero + 20);
  EXPECT_GE(res.cost_to_match_best, 0);
}

}  // namespace
}  // namespace tandem
