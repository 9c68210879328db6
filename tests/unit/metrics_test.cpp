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

}  // namespace
}  // namespace tandem
