#include "ledger/metrics.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(Metrics, RendersPrometheusText) {
  Metrics m;
  LedgerRecord r;
  r.model = "small";
  r.tier = "slm";
  r.prompt_tokens = 10;
  r.completion_tokens = 5;
  r.cost_usd = 0.5;
  r.baseline_usd = 2;
  r.total_us = 3000;
  r.ttft_us = 700;
  r.overhead_us = 40;
  m.record(r);
  m.decision("small", "slm", "default");
  m.decision("big", "llm", "code");
  std::string text = m.render();
  EXPECT_NE(text.find("tandem_requests_total{model=\"small\",tier=\"slm\",status=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("tandem_tokens_total{model=\"small\",direction=\"in\"} 10"), std::string::npos);
  EXPECT_NE(text.find("tandem_cost_usd_total{model=\"small\"} 0.5"), std::string::npos);
  EXPECT_NE(text.find("tandem_route_decisions_total{model=\"big\",tier=\"llm\",rule=\"code\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("tandem_llm_share 0.5"), std::string::npos);
  EXPECT_NE(text.find("tandem_request_duration_seconds_bucket{tier=\"slm\",le=\"0.005\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("tandem_request_duration_seconds_bucket{tier=\"slm\",le=\"0.0025\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("tandem_gateway_overhead_seconds_bucket{le=\"5e-05\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_time_to_first_token_seconds_count{tier=\"slm\"} 1"), std::string::npos);
}

TEST(Metrics, ShadowEstimatesCoverTheConfigurationInForce) {
  Metrics m;
  EXPECT_EQ(m.render().find("tandem_shadow"), std::string::npos);  // nothing until shadow learning runs
  m.shadow(1, 0.9, 0.01, 1);
  m.shadow(0, 0.2, 0.01, 1);
  m.shadow(1, 0.7, 0.01, 1);
  m.shadow_missed("skipped");
  std::string text = m.render();
  EXPECT_NE(text.find("tandem_shadow_judgments_total{verdict=\"right\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_shadow_judgments_total{verdict=\"wrong\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_shadow_judgments_total{verdict=\"skipped\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_shadow_cost_usd_total 0.03"), std::string::npos);
  EXPECT_NE(text.find("tandem_shadow_slm_accuracy 0.666666667"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_shadow_router_auroc 1\n"), std::string::npos);
  // A reload (another generation) starts the window afresh; the counters keep counting.
  m.shadow(1, 0.1, 0.01, 2);
  m.shadow(0, 0.8, 0.01, 2);
  text = m.render();
  EXPECT_NE(text.find("tandem_shadow_window 2"), std::string::npos);
  EXPECT_NE(text.find("tandem_shadow_router_auroc 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_shadow_judgments_total{verdict=\"right\"} 3"), std::string::npos);
  // Verdicts without a router's P(right): an accuracy, no AUROC.
  Metrics plain;
  plain.shadow(1, -1, 0, 1);
  plain.shadow(0, -1, 0, 1);
  text = plain.render();
  EXPECT_NE(text.find("tandem_shadow_slm_accuracy 0.5"), std::string::npos);
  EXPECT_EQ(text.find("tandem_shadow_router_auroc"), std::string::npos);
}

}  // namespace
}  // namespace tandem
