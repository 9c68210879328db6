#include "ledger/metrics.h"

#include "core/auroc.h"

#include <cstdio>

namespace tandem {
namespace {

std::string Num(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", d);
  return buf;
}

std::string Label(const std::string& v) {  // escape a label value
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void Histogram::observe(double s) {
  size_t i = 0;
  while (i < kBounds.size() && s > kBounds[i]) ++i;
  ++counts_[i];
  sum_ += s;
  ++n_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cum = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + Num(kBounds[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  cum += counts_[kBounds.size()];
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(cum) + "\n";
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " " + Num(sum_) + "\n";
  out += name + "_count" + l + " " + std::to_string(n_) + "\n";
}

void Metrics::record(const LedgerRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{r.model, r.tier, r.http_status}];
  tokens_[{r.model, "in"}] += static_cast<uint64_t>(r.prompt_tokens);
  tokens_[{r.model, "out"}] += static_cast<uint64_t>(r.completion_tokens);
  cost_[r.model] += r.cost_usd;
  baseline_ += r.baseline_usd;
  if (r.http_status < 400) {
    latency_[r.tier].observe(static_cast<double>(r.total_us) / 1e6);
    if (r.ttft_us > 0) ttft_[r.tier].observe(static_cast<double>(r.ttft_us) / 1e6);
    overhead_.observe(static_cast<double>(r.overhead_us) / 1e6);
  }
}

void Metrics::decision(const std::string& model, const std::string& tier, const std::string& rule) {
  std::lock_guard<std::mutex> lock(mu_);
  ++decisions_[{model, tier, rule}];
  ++routed_;
  routed_llm_ += tier == "llm";
}

void Metrics::cascade(const std::string& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  ++cascade_[outcome];
}

void Metrics::in_flight(int delta) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_ += delta;
}

double Metrics::llm_share() const {
  std::lock_guard<std::mutex> lock(mu_);
  return routed_ ? static_cast<double>(routed_llm_) / static_cast<double>(routed_) : 0;
}

void Metrics::shadow(int verdict, double p_right, double cost_usd, uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  ++shadow_[verdict ? "right" : "wrong"];
  shadow_cost_ += cost_usd;
  if (generation != shadow_generation_) {
    shadow_window_.clear();
    shadow_generation_ = generation;
  }
  shadow_window_.emplace_back(p_right, verdict);
  if (shadow_window_.size() > kShadowWindow) shadow_window_.pop_front();
}

void Metrics::shadow_missed(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  ++shadow_[why];
}

namespace {

// The live estimates over the window: the SLM's accuracy on what it kept, the router's AUROC on those answers.
void RenderShadow(std::string& out, const std::map<std::string, uint64_t>& counts, double cost,
                  const std::deque<std::pair<double, int>>& window) {
  out += "# HELP tandem_shadow_judgments_total Sampled SLM answers the shadow judge graded (right, wrong) or not "
         "(failed, skipped).\n# TYPE tandem_shadow_judgments_total counter\n";
  for (const auto& [k, v] : counts)
    out += "tandem_shadow_judgments_total{verdict=\"" + Label(k) + "\"} " + std::to_string(v) + "\n";
  out += "# HELP tandem_shadow_cost_usd_total What the shadow judge cost, apart from the traffic's spend.\n";
  out += "# TYPE tandem_shadow_cost_usd_total counter\ntandem_shadow_cost_usd_total " + Num(cost) + "\n";
  if (window.empty()) return;
  std::vector<double> p;
  std::vector<bool> right;
  double n_right = 0;
  for (const auto& [pr, v] : window) {
    n_right += v;
    if (pr < 0) continue;
    p.push_back(pr);
    right.push_back(v == 1);
  }
  out += "# HELP tandem_shadow_window Judgments the live estimates cover (the latest, since the last reload).\n";
  out += "# TYPE tandem_shadow_window gauge\ntandem_shadow_window " + std::to_string(window.size()) + "\n";
  out += "# HELP tandem_shadow_slm_accuracy Live estimate of the SLM's accuracy on the answers it kept.\n";
  out += "# TYPE tandem_shadow_slm_accuracy gauge\ntandem_shadow_slm_accuracy " +
         Num(n_right / static_cast<double>(window.size())) + "\n";
  const double auroc = Auroc(p, right);
  if (auroc == auroc) {  // both verdicts seen, with the router's P(right)
    out += "# HELP tandem_shadow_router_auroc Live AUROC of the cascade router's P(right) against the verdicts.\n";
    out += "# TYPE tandem_shadow_router_auroc gauge\ntandem_shadow_router_auroc " + Num(auroc) + "\n";
  }
}

}  // namespace

std::string Metrics::render(double target_llm_share) const {
  double share = llm_share();
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out.reserve(8192);
  out += "# HELP tandem_requests_total Requests answered, by serving model, tier and HTTP status.\n";
  out += "# TYPE tandem_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    out += "tandem_requests_total{model=\"" + Label(std::get<0>(k)) + "\",tier=\"" + Label(std::get<1>(k)) +
           "\",status=\"" + std::to_string(std::get<2>(k)) + "\"} " + std::to_string(v) + "\n";
  }
  out += "# HELP tandem_route_decisions_total Routing decisions for model=auto or an alias.\n";
  out += "# TYPE tandem_route_decisions_total counter\n";
  for (const auto& [k, v] : decisions_) {
    out += "tandem_route_decisions_total{model=\"" + Label(std::get<0>(k)) + "\",tier=\"" +
           Label(std::get<1>(k)) + "\",rule=\"" + Label(std::get<2>(k)) + "\"} " + std::to_string(v) + "\n";
  }
  if (!cascade_.empty()) {
    out += "# HELP tandem_cascade_total SLM drafts the cascade let stand or escalated to the LLM.\n";
    out += "# TYPE tandem_cascade_total counter\n";
    for (const auto& [k, v] : cascade_)
      out += "tandem_cascade_total{outcome=\"" + Label(k) + "\"} " + std::to_string(v) + "\n";
  }
  out += "# HELP tandem_llm_share Realised share of routed requests sent to the LLM tier.\n";
  out += "# TYPE tandem_llm_share gauge\ntandem_llm_share " + Num(share) + "\n";
  if (target_llm_share >= 0) {
    out += "# HELP tandem_llm_share_target The LLM share the learned router was calibrated for.\n";
    out += "# TYPE tandem_llm_share_target gauge\ntandem_llm_share_target " + Num(target_llm_share) + "\n";
  }
  if (!shadow_.empty()) RenderShadow(out, shadow_, shadow_cost_, shadow_window_);
  out += "# HELP tandem_tokens_total Tokens by model and direction.\n# TYPE tandem_tokens_total counter\n";
  for (const auto& [k, v] : tokens_) {
    out += "tandem_tokens_total{model=\"" + Label(k.first) + "\",direction=\"" + k.second + "\"} " +
           std::to_string(v) + "\n";
  }
  out += "# HELP tandem_cost_usd_total Spend in USD by model.\n# TYPE tandem_cost_usd_total counter\n";
  for (const auto& [k, v] : cost_)
    out += "tandem_cost_usd_total{model=\"" + Label(k) + "\"} " + Num(v) + "\n";
  out += "# HELP tandem_baseline_cost_usd_total What the default LLM would have cost.\n";
  out += "# TYPE tandem_baseline_cost_usd_total counter\ntandem_baseline_cost_usd_total " + Num(baseline_) +
         "\n";
  out +=
      "# HELP tandem_in_flight_requests Requests being served now.\n# TYPE tandem_in_flight_requests gauge\n";
  out += "tandem_in_flight_requests " + std::to_string(in_flight_) + "\n";
  out += "# HELP tandem_request_duration_seconds Total request latency by tier.\n";
  out += "# TYPE tandem_request_duration_seconds histogram\n";
  for (const auto& [tier, h] : latency_)
    h.render(out, "tandem_request_duration_seconds", "tier=\"" + tier + "\"");
  out += "# HELP tandem_time_to_first_token_seconds Time to first streamed token by tier.\n";
  out += "# TYPE tandem_time_to_first_token_seconds histogram\n";
  for (const auto& [tier, h] : ttft_)
    h.render(out, "tandem_time_to_first_token_seconds", "tier=\"" + tier + "\"");
  out += "# HELP tandem_gateway_overhead_seconds Request time not spent waiting on an upstream.\n";
  out += "# TYPE tandem_gateway_overhead_seconds histogram\n";
  overhead_.render(out, "tandem_gateway_overhead_seconds", "");
  return out;
}

}  // namespace tandem
