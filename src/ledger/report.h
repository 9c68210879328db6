// Report: what `tandem report` prints, computed from ledger rows.
//
// Requests, share per tier, spend, what the all-LLM baseline would have cost and the savings, p50/p95
// latency per tier, and the monthly cost projected from the observed daily volume; apart from them, the shadow
// judge's verdicts (the SLM's accuracy on what it kept, the router's AUROC) and spend. Pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ledger/record.h"

namespace tandem {

struct TierStats {
  int64_t requests = 0;
  double share = 0;
  double spend_usd = 0;
  int64_t p50_us = 0, p95_us = 0;
  int64_t p50_ttft_us = -1;  // -1: none of the tier's requests streamed
};

struct Report {
  int64_t requests = 0;
  int64_t errors = 0;
  int64_t tokens_in = 0, tokens_out = 0;
  double spend_usd = 0;
  double baseline_usd = 0;
  double savings_usd = 0;
  double savings_pct = 0;
  double window_days = 0;  // span the rows cover
  double projected_monthly_usd = 0;
  double projected_monthly_baseline_usd = 0;
  int64_t local_only_requests = 0;
  std::map<std::string, TierStats> tiers;  // "slm", "llm"
  std::map<std::string, int64_t> models;   // requests per model
  // Requests the router decided (model "auto" or an alias) and how many of them it sent to the LLM tier.
  int64_t routed = 0, routed_llm = 0;
  double target_llm_share = -1;  // what the learned router was calibrated for (-1 = not calibrated)
  // Shadow judgments (rows with shadow_of): not traffic, so in none of the figures above.
  int64_t shadow_judged = 0, shadow_right = 0;
  double shadow_spend_usd = 0;
  double shadow_auroc = -1;  // of the recorded P(right) against the verdicts (-1: not both verdicts, or no P)
};

struct ReportOptions {
  std::vector<std::string> routed_names = {"auto"};  // requested model names the router decides (+ aliases)
  double target_llm_share = -1;
};

// `window_us`: the period asked for (e.g. 7 days); the projection uses the shorter of it and the time
// actually covered by the rows (at least one hour, so a handful of requests does not extrapolate wildly).
Report BuildReport(const std::vector<LedgerRecord>& rows, int64_t now_us, int64_t window_us,
                   const ReportOptions& opt = {});
std::string FormatReport(const Report& r, const std::string& since_label);
// Parses "7d", "24h", "30m", "90s" to microseconds; returns -1 if malformed.
int64_t ParseDuration(const std::string& s);

}  // namespace tandem
