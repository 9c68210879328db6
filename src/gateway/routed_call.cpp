#include "gateway/routed_call.h"

#include <cmath>
#include <cstdio>

#include "gateway/shadow.h"
#include "ledger/cost.h"

namespace tandem {
namespace {

// Stage 3: the SLM encodes the prompt (its KV cache then holds it, for the answer) and the head decides.
asio::awaitable<void> SlmScoredStage(const Snapshot& snap, const ChatRequest& req, CancelState& cancel,
                                     const Clock& clock, RoutedOutcome& o) {
  Decision& d = o.decision;
  const int64_t t0 = clock.mono_us();
  int64_t tokens = 0;
  auto pooled = co_await snap.slm_encoder->Encode(req, cancel, &tokens);
  o.encode_us = clock.mono_us() - t0;
  if (!pooled.ok()) {
    d.reasons.push_back("slm-scored router unavailable: " + pooled.status().message());
    co_return;
  }
  const double score = snap.slm_head->score(pooled.value());
  const double threshold = snap.config.routing.slm_scored_threshold;
  char why[160];
  std::snprintf(why, sizeof why, "slm-scored router: score %.3f %s threshold %.3f (%lld prompt tokens, %.1f ms)",
                score, score >= threshold ? ">=" : "<", threshold, (long long)tokens, o.encode_us / 1000.0);
  d.reasons.push_back(why);
  d.rule = "slm-scored";
  d.kind = RuleKind::kSlmScored;
  d.score = score;
  d.model = snap.policy->resolve(score >= threshold ? "llm" : "slm");
}

// Stage 3a: the likeliest described route decides.
asio::awaitable<void> DescribedRouteStage(const Snapshot& snap, const ChatRequest& req, CancelState& cancel,
                                          const Clock& clock, RoutedOutcome& o) {
  Decision& d = o.decision;
  Result<RoutePick> pick = co_await PickDescribedRoute(snap, req, cancel, clock);
  if (!pick.ok()) {
    d.reasons.push_back("described routes unavailable: " + pick.status().message());
    co_return;
  }
  o.encode_us += pick->took_us;
  const DescribedRoute& route = snap.config.routing.routes[pick->index];
  const ChoiceScores& sc = pick->scores;
  char why[256];
  std::snprintf(why, sizeof why, "route '%s': p %.2f among %zu routes (one prefill of %lld tokens, %lld cached, "
                "+%lld name tokens, %.1f ms)", route.name.c_str(), pick->p, sc.logprob.size(),
                (long long)sc.prompt_tokens, (long long)sc.cached_tokens, (long long)sc.extra_tokens,
                pick->took_us / 1000.0);
  d.reasons.push_back(why);
  d.rule = route.name;
  d.kind = RuleKind::kRoute;
  d.score = pick->p;
  d.model = snap.policy->resolve(route.target);
}

// Stage 5a: when the cascade's router reads the perm_* signals, a multiple-choice draft's question is asked again
// in each rotation of its options (gateway/cascade.h ProbeOptions) and the signals join the draft's; the prefills
// join its usage. Returns what to add to the verdict ("" unless the probe failed: the router then takes the
// missing signals at their training means).
asio::awaitable<std::string> ProbeDraft(const Snapshot& snap, const ChatRequest& req, DraftResult& dr,
                                        CancelState& cancel, Usage* usage) {
  if (!snap.cascade_prober || !dr.outcome.status.ok() || !dr.confidence.has_logprobs || !dr.outcome.served ||
      dr.outcome.served->info().name != snap.cascade_prober->info().name)
    co_return std::string();
  auto probe = co_await ProbeOptions(*snap.cascade_prober, req, dr.confidence.text, cancel, &usage->prompt_tokens);
  if (!probe.ok()) co_return "; options probe failed: " + probe.status().message();
  dr.confidence.signals.insert(probe->begin(), probe->end());
  co_return std::string();
}

// Stage 5: the SLM drafts into a buffer; a confident draft is replayed to the client, an unconfident one is
// discarded and the LLM tier answers. The client never sees bytes from both.
asio::awaitable<FailoverOutcome> RunCascade(const Snapshot& snap, const ChatRequest& req,
                                            const std::vector<Provider*>& local, RoutedSink& sink,
                                            CancelState& cancel, const Clock& clock, CascadeNote* note) {
  const CascadeConfig& cc = snap.config.routing.cascade;
  note->applied = true;
  DraftResult dr = co_await Draft(*snap.providers, local, req, cc, cancel, clock);
  if (dr.client_gone) co_return dr.outcome;
  Usage draft_usage = dr.outcome.stats.usage;
  const std::string probe_note = co_await ProbeDraft(snap, req, dr, cancel, &draft_usage);
  if (cancel.cancelled()) co_return dr.outcome;
  if (dr.outcome.served) {  // a draft that failed midway still cost what it generated
    note->draft_cost = CostUsd(dr.outcome.served->info(), draft_usage);
    note->draft_prompt_tokens = draft_usage.prompt_tokens;
    note->draft_completion_tokens = draft_usage.completion_tokens;
  }
  note->signals = dr.confidence.signals;
  char buf[192];
  bool accept;
  if (!dr.outcome.status.ok()) {
    accept = false;
    if (dr.over_ttft_budget) {
      std::snprintf(buf, sizeof buf, "no first token within %lld ms", (long long)cc.ttft_budget_ms);
      note->verdict = buf;
    } else {
      note->verdict = "draft failed: " + dr.outcome.status.message();
    }
  } else if (!dr.confidence.has_logprobs) {
    accept = !cc.escalate_without_logprobs;
    note->verdict = "the draft came without logprobs";
  } else if (snap.cascade_router) {
    note->p_right = snap.cascade_router->p_right(dr.confidence.signals);
    accept = note->p_right >= cc.min_confidence;
    std::snprintf(buf, sizeof buf, "p(right) %.3f %s %.3f (calibrated, %d tokens%s)", note->p_right,
                  accept ? ">=" : "<", cc.min_confidence, dr.confidence.tokens,
                  dr.confidence.signals.count("perm_prob") ? ", options probed" : "");
    note->verdict = buf + probe_note;
  } else {
    accept = dr.confidence.value >= cc.min_confidence;
    std::snprintf(buf, sizeof buf, "confidence %.3f %s %.3f (%s of %d tokens)", dr.confidence.value,
                  accept ? ">=" : "<", cc.min_confidence, cc.measure.c_str(), dr.confidence.tokens);
    note->verdict = buf;
  }
  std::vector<Provider*> llm;
  if (!accept) {
    std::vector<std::string> notes;
    llm = snap.providers->chain(snap.policy->resolve("llm"), false, &notes);
    if (llm.empty() && dr.outcome.status.ok()) {
      accept = true;  // a doubtful draft beats no answer
      note->verdict += "; escalation unavailable (" + (notes.empty() ? std::string("no LLM") : notes.front()) + ")";
    }
  }
  if (accept || llm.empty()) {
    if (!dr.outcome.status.ok()) co_return dr.outcome;  // nothing to replay and nowhere to escalate
    sink.add_header("x-tandem-cascade", HeaderSafe("accepted: " + note->verdict));
    sink.attempt(dr.outcome.served->info());
    const std::string* lp = req.field("logprobs");
    const bool with_logprobs = lp && *lp == "true";
    if (req.stream) {
      for (const auto& chunk : dr.chunks) {
        std::string c = ReplayChunk(chunk, with_logprobs, req.include_usage);
        if (c.empty()) continue;
        Status s = co_await sink.chunk(c);
        if (!s.ok()) {
          dr.outcome.status = s;
          break;
        }
      }
    } else {
      co_await sink.body(AssembleCompletion(dr.chunks, with_logprobs));
    }
    co_return dr.outcome;
  }
  note->escalated = true;
  sink.add_header("x-tandem-cascade", HeaderSafe("escalated: " + note->verdict));
  FailoverOutcome o = co_await snap.providers->Call(llm, req, sink, cancel);
  o.attempts += dr.outcome.attempts;
  o.stats.upstream_wait_us += dr.outcome.stats.upstream_wait_us;
  co_return o;
}

// What the router classifies: the last user message (its last 4,000 characters), marked as the request.
std::string RouteRequestText(const ChatRequest& req) {
  std::string text;
  for (const auto& m : req.messages)
    if (m.role == "user") text = m.text;
  if (text.size() > 4000) text = text.substr(text.size() - 4000);
  return "Request:\n" + text;
}

}  // namespace

asio::awaitable<Result<RoutePick>> PickDescribedRoute(const Snapshot& snap, const ChatRequest& req,
                                                      CancelState& cancel, const Clock& clock) {
  if (!snap.route_scorer) co_return Status(Code::kInvalidArgument, "routing.routes is not configured");
  const int64_t t0 = clock.mono_us();
  std::vector<ChatMessage> turns;
  turns.push_back(ChatMessage{"system", snap.route_question});
  turns.insert(turns.end(), snap.route_examples.begin(), snap.route_examples.end());
  RoutePrior& prior = *snap.route_prior;
  bool calibrated;
  {
    std::lock_guard<std::mutex> lock(prior.mu);
    calibrated = prior.ready;
  }
  if (!calibrated) {  // once per snapshot: the names' scores when the request says nothing
    turns.push_back(ChatMessage{"user", "Request:\nN/A"});
    auto none = co_await snap.route_scorer->ScoreChoices(turns, snap.route_names, cancel);
    if (!none.ok()) co_return none.status();
    turns.pop_back();
    std::lock_guard<std::mutex> lock(prior.mu);
    prior.logprob = none->logprob;
    prior.ready = true;
  }
  turns.push_back(ChatMessage{"user", RouteRequestText(req)});
  auto scored = co_await snap.route_scorer->ScoreChoices(turns, snap.route_names, cancel);
  if (!scored.ok()) co_return scored.status();
  RoutePick pick;
  pick.took_us = clock.mono_us() - t0;
  std::vector<double> lp = scored->logprob;
  {
    std::lock_guard<std::mutex> lock(prior.mu);
    for (size_t i = 0; i < lp.size(); ++i) lp[i] -= prior.logprob[i];
  }
  for (size_t i = 1; i < lp.size(); ++i)
    if (lp[i] > lp[pick.index]) pick.index = i;
  double norm = 0;  // softmax over the calibrated scores: the pick's share
  for (double x : lp) norm += std::exp(x - lp[pick.index]);
  pick.p = 1 / norm;
  pick.scores = std::move(scored.value());
  co_return pick;
}

std::string HeaderSafe(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n' || static_cast<unsigned char>(c) >= 0x80) c = ' ';
  }
  if (s.size() > 1024) s.resize(1024);
  return s;
}

bool SlmStagesApply(const RoutedOutcome& o) {
  return o.routed && o.decision.open() && !o.decision.local_only && o.features.header_tier.empty();
}

asio::awaitable<RoutedOutcome> RoutedCall(const Snapshot& snap, const ChatRequest& req, const RouteHints& hints,
                                          RoutedSink& client, CancelState& cancel, const Clock& clock) {
  RoutedOutcome o;
  const Config& cfg = snap.config;
  // 1. The model.
  o.routed = req.model == "auto" || cfg.routing.aliases.count(req.model) > 0;
  if (!o.routed && !cfg.find(req.model)) {
    o.refused = true;
    o.result.status = Status(Code::kNotFound, "The model '" + req.model +
                                                  "' does not exist; GET /v1/models lists the configured models and "
                                                  "'auto'");
    co_return o;
  }
  // 2. Features and the rules policy. Every request is decided, a named one too: privacy may keep it local.
  o.features = ComputeFeatures(req, *snap.pii, hints.tier);
  o.features.tradeoff = hints.tradeoff;
  o.features.max_cost_usd = hints.max_cost_usd;
  o.decision = snap.policy->decide(req, o.features);
  Decision& d = o.decision;
  o.shadow_sampled = ShadowSampled(cfg.routing.shadow, d);
  AnswerTap sink(client, o.shadow_sampled);
  // 3. Described routes, then the SLM-scored router (for what is still open).
  if (snap.route_scorer && SlmStagesApply(o)) co_await DescribedRouteStage(snap, req, cancel, clock, o);
  if (snap.slm_head && SlmStagesApply(o)) co_await SlmScoredStage(snap, req, cancel, clock, o);
  // 4. The chain, with the SLM standing in for an unreachable LLM.
  std::vector<std::string> notes;
  std::vector<Provider*> chain = snap.providers->chain(d.model, d.local_only, &notes);
  o.chosen = cfg.find(d.model);
  if (chain.empty() && o.chosen && o.chosen->tier == Tier::kLlm) {
    o.escalation = "unavailable: " + (notes.empty() ? std::string("no LLM available") : notes.front());
    const std::string slm = snap.policy->resolve("slm");
    d.reasons.push_back("escalation to " + d.model + " unavailable; answered by " + slm);
    chain = snap.providers->chain(slm, d.local_only, &notes);
  }
  o.first = chain.empty() ? nullptr : chain.front();
  sink.add_header("x-tandem-route", HeaderSafe(d.reasons_joined()));
  if (!o.escalation.empty()) sink.add_header("x-tandem-escalation", HeaderSafe(o.escalation));
  if (chain.empty()) {
    const std::string why = notes.empty() ? "no model can serve this request" : notes.back();
    o.result.status =
        d.local_only ? Status(Code::kPermissionDenied,
                              "privacy policy keeps this request local, and no local model is available (" + why + ")")
                     : Status(Code::kUnavailable, why);
    co_return o;
  }
  // 5. The cascade, when the chain starts at the SLM tier; 6. else failover along the chain.
  std::vector<Provider*> local;
  if (cfg.routing.cascade.enabled && SlmStagesApply(o) && chain.front()->info().tier == Tier::kSlm) {
    for (Provider* p : chain)
      if (p->info().tier == Tier::kSlm) local.push_back(p);
  }
  if (!local.empty()) {
    o.result = co_await RunCascade(snap, req, local, sink, cancel, clock, &o.cascade);
  } else {
    o.result = co_await snap.providers->Call(chain, req, sink, cancel);
  }
  if (o.shadow_sampled) o.answer = sink.text();
  co_return o;
}

void FillOutcome(const Snapshot& snap, const FailoverOutcome& result, const ModelInfo* chosen,
                 const std::string& fallback_model, LedgerRecord& row) {
  const ModelInfo* served = result.served ? &result.served->info() : chosen;
  row.model = served ? served->name : fallback_model;
  row.tier = served ? TierName(served->tier) : "";
  row.locality = served ? LocalityName(served->locality) : "";
  row.prompt_tokens = result.stats.usage.prompt_tokens;
  row.completion_tokens = result.stats.usage.completion_tokens;
  row.usage_estimated = result.stats.usage.estimated;
  row.cost_usd = served ? CostUsd(*served, result.stats.usage) : 0;
  row.baseline_usd = snap.baseline ? CostUsd(*snap.baseline, result.stats.usage) : row.cost_usd;
  row.attempts = result.attempts;
  row.http_status = result.status.ok() ? 200 : result.status.http_status();
  row.status = result.status.code_name();
  row.error = result.status.ok() ? "" : result.status.message();
  if (!result.log.empty() && result.status.ok()) {
    std::string failed;
    for (const auto& l : result.log) failed += (failed.empty() ? "" : "; ") + l;
    row.reasons += "; failover: " + failed;
  }
}

void FillRow(const Snapshot& snap, const RoutedOutcome& o, LedgerRecord& row) {
  const Decision& d = o.decision;
  row.reasons = d.reasons_joined();
  row.rule = d.rule;
  for (const auto& k : o.features.pii) row.pii += (row.pii.empty() ? "" : ",") + k;
  row.local_only = d.local_only;
  row.escalation = o.escalation;
  const CascadeNote& c = o.cascade;
  if (c.applied && !c.verdict.empty()) {
    row.reasons += std::string("; cascade ") + (c.escalated ? "escalated: " : "accepted: ") + c.verdict;
    if (c.escalated) row.escalation = "cascade: " + c.verdict;
  }
  FillOutcome(snap, o.result, o.chosen, d.model, row);
  if (c.applied) {
    row.draft_tokens = c.draft_prompt_tokens + c.draft_completion_tokens;
    row.draft_cost_usd = c.draft_cost;
    row.signals = SignalsJson(c.signals);
    row.p_right = c.p_right;
  }
  if (c.escalated) row.cost_usd += c.draft_cost;
  if (!snap.baseline) row.baseline_usd = row.cost_usd;
}

}  // namespace tandem
