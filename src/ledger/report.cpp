#include "ledger/report.h"

#include <algorithm>
#include <cstdio>

#include "core/auroc.h"

namespace tandem {
namespace {

int64_t Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

}  // namespace

int64_t ParseDuration(const std::string& s) {
  if (s.size() < 2) return -1;
  char unit = s.back();
  int64_t n;
  try {
    size_t used;
    n = std::stoll(s.substr(0, s.size() - 1), &used);
    if (used != s.size() - 1 || n < 0) return -1;
  } catch (const std::exception&) {
    return -1;
  }
  switch (unit) {
    case 's':
      return n * 1'000'000;
    case 'm':
      return n * 60'000'000;
    case 'h':
      return n * 3'600'000'000LL;
    case 'd':
      return n * 86'400'000'000LL;
    default:
      return -1;
  }
}

Report BuildReport(const std::vector<LedgerRecord>& rows, int64_t now_us, int64_t window_us,
                   const ReportOptions& opt) {
  Report r;
  r.target_llm_share = opt.target_llm_share;
  std::map<std::string, std::vector<int64_t>> lat, ttft;
  int64_t first = now_us;
  int64_t routed = 0;  // requests that reached a model (shares are of these)
  std::vector<double> shadow_p;
  std::vector<bool> shadow_y;
  for (const auto& row : rows) {
    if (!row.shadow_of.empty()) {
      r.shadow_spend_usd += row.cost_usd;
      if (row.verdict < 0) continue;
      ++r.shadow_judged;
      r.shadow_right += row.verdict == 1;
      if (row.p_right >= 0) shadow_p.push_back(row.p_right), shadow_y.push_back(row.verdict == 1);
      continue;
    }
    ++r.requests;
    first = std::min(first, row.ts_us);
    if (row.http_status >= 400) ++r.errors;
    r.tokens_in += row.prompt_tokens;
    r.tokens_out += row.completion_tokens;
    r.spend_usd += row.cost_usd;
    r.baseline_usd += row.baseline_usd;
    r.local_only_requests += row.local_only;
    if (row.tier.empty()) continue;  // refused before routing (bad request, bad key): no tier, no model
    ++routed;
    if (std::find(opt.routed_names.begin(), opt.routed_names.end(), row.requested_model) !=
        opt.routed_names.end()) {
      ++r.routed;
      r.routed_llm += row.tier == "llm";
    }
    TierStats& t = r.tiers[row.tier];
    ++t.requests;
    t.spend_usd += row.cost_usd;
    if (row.http_status < 400) {
      lat[row.tier].push_back(row.total_us);
      if (row.ttft_us > 0) ttft[row.tier].push_back(row.ttft_us);
    }
    ++r.models[row.model];
  }
  for (auto& [name, t] : r.tiers) {
    t.share = routed ? static_cast<double>(t.requests) / static_cast<double>(routed) : 0;
    t.p50_us = Percentile(lat[name], 0.50);
    t.p95_us = Percentile(lat[name], 0.95);
    t.p50_ttft_us = ttft[name].empty() ? -1 : Percentile(ttft[name], 0.50);
  }
  const double auroc = Auroc(shadow_p, shadow_y);
  if (auroc == auroc) r.shadow_auroc = auroc;
  r.savings_usd = r.baseline_usd - r.spend_usd;
  r.savings_pct = r.baseline_usd > 0 ? 100.0 * r.savings_usd / r.baseline_usd : 0;
  int64_t covered = std::min(window_us, now_us - first);
  covered = std::max<int64_t>(covered, 3'600'000'000LL);
  r.window_days = static_cast<double>(covered) / 86'400e6;
  r.projected_monthly_usd = r.spend_usd / r.window_days * 30.44;
  r.projected_monthly_baseline_usd = r.baseline_usd / r.window_days * 30.44;
  return r;
}

std::string FormatReport(const Report& r, const std::string& since_label) {
  std::string out;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out.append(line);
  };
  add("Tandem report — last %s (%.2f days of traffic)\n", since_label.c_str(), r.window_days);
  add("  requests            %lld (%lld errors, %lld kept local by privacy)\n", (long long)r.requests,
      (long long)r.errors, (long long)r.local_only_requests);
  add("  tokens              %lld in, %lld out\n", (long long)r.tokens_in, (long long)r.tokens_out);
  add("  spend               $%.6f\n", r.spend_usd);
  add("  all-LLM baseline    $%.6f\n", r.baseline_usd);
  add("  savings             $%.6f (%.1f%%)\n", r.savings_usd, r.savings_pct);
  add("  projected monthly   $%.2f (all-LLM: $%.2f)\n", r.projected_monthly_usd,
      r.projected_monthly_baseline_usd);
  add("  %-6s %9s %7s %12s %10s %10s %10s\n", "tier", "requests", "share", "spend", "p50 ms", "p95 ms",
      "ttft p50");
  for (const auto& [name, t] : r.tiers) {
    char ttft[32] = "-";  // none of the tier's requests streamed: there is no first token to time
    if (t.p50_ttft_us >= 0) std::snprintf(ttft, sizeof ttft, "%.2f", t.p50_ttft_us / 1000.0);
    add("  %-6s %9lld %6.1f%% %12.6f %10.2f %10.2f %10s\n", name.c_str(), (long long)t.requests, 100 * t.share,
        t.spend_usd, t.p50_us / 1000.0, t.p95_us / 1000.0, ttft);
  }
  if (r.routed > 0) {
    double share = 100.0 * static_cast<double>(r.routed_llm) / static_cast<double>(r.routed);
    if (r.target_llm_share >= 0) {
      add("  routed to the LLM   %.1f%% of %lld routed requests (calibrated for %.1f%%: drift %+.1f points)\n", share,
          (long long)r.routed, 100 * r.target_llm_share, share - 100 * r.target_llm_share);
    } else {
      add("  routed to the LLM   %.1f%% of %lld routed requests\n", share, (long long)r.routed);
    }
  }
  if (r.shadow_judged > 0 || r.shadow_spend_usd > 0) {
    add("  shadow judge        %lld answers judged: SLM right on %.1f%% of what it kept", (long long)r.shadow_judged,
        r.shadow_judged ? 100.0 * static_cast<double>(r.shadow_right) / static_cast<double>(r.shadow_judged) : 0.0);
    if (r.shadow_auroc >= 0) add(", router AUROC %.3f", r.shadow_auroc);
    add("; spend $%.6f (not in the figures above)\n", r.shadow_spend_usd);
  }
  add("  %-24s %9s\n", "model", "requests");
  for (const auto& [name, n] : r.models) add("  %-24s %9lld\n", name.c_str(), (long long)n);
  return out;
}

}  // namespace tandem
