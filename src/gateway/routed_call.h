// RoutedCall: the one decide-and-call that every caller of a model goes through — POST /v1/chat/completions
// (ChatHandler), agents, workflows, `tandem calibrate` and `eval-tools` (GatewayClient) — so a router, the cascade,
// the escalation fallback and privacy apply to all of them alike.
//
// Stages, in order:
//   1. the model: "auto", an alias or a configured name (anything else: kNotFound, nothing called);
//   2. features and the rules policy (route/rules_policy.h: requested model, privacy, header, rules, media,
//      trade-off, learned router, default);
//   3. for an open decision (Decision::open()) of a routed request that privacy does not pin and no x-tandem-tier
//      header decides: described routes (routing.routes: the in-process SLM picks a route by name, one prefill),
//      then, if still open, the SLM-scored router (the in-process SLM encodes the prompt and its head decides);
//   4. the provider chain, privacy-filtered; an LLM that is unavailable falls back to the SLM tier (escalation
//      "unavailable: ...");
//   5. the cascade (gateway/cascade.h), for the same requests as stage 3 when the chain starts at the SLM tier:
//      the SLM drafts into a buffer and either its draft is replayed or the LLM tier answers; with
//      routing.cascade.router the verdict is the calibrated P(right) against min_confidence;
//   6. otherwise failover along the chain, streaming into the sink.
// Response headers that the decision produces (x-tandem-route, x-tandem-escalation, x-tandem-cascade) go to the
// sink before its first byte. Runs on the caller's event loop; thread-safe over a shared Snapshot.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "gateway/cascade.h"
#include "gateway/runtime.h"
#include "route/features.h"

namespace tandem {

// A ChatSink that can also take response headers before its first byte (the gateway's connection; a capture).
class RoutedSink : public ChatSink {
 public:
  virtual void add_header(std::string name, std::string value) = 0;
};

// What a request says about its routing besides its body (the gateway's x-tandem-* headers).
struct RouteHints {
  std::string tier;           // x-tandem-tier: "slm", "llm" or ""
  double tradeoff = -1;       // x-tandem-tradeoff (-1: absent)
  double max_cost_usd = -1;   // x-tandem-max-cost-usd (-1: absent)
};

// What the cascade did, for the ledger row and the metrics.
struct CascadeNote {
  bool applied = false;
  bool escalated = false;
  std::string verdict;    // e.g. "confidence 0.31 < 0.50 (mean of 12 tokens)"
  double draft_cost = 0;  // what the SLM draft cost (USD), on top of the served answer when escalated
  int64_t draft_prompt_tokens = 0, draft_completion_tokens = 0;
  std::map<std::string, double> signals;  // the draft's confidence signals (AnswerSignals)
  double p_right = -1;                    // the calibrated router's P(right) (-1: no router)
};

struct RoutedOutcome {
  bool refused = false;  // stage 1 refused the request (result.status says why); nothing was called
  bool routed = false;   // "auto" or an alias: the routers decided
  Features features;
  Decision decision;
  const ModelInfo* chosen = nullptr;  // the decision's model
  const Provider* first = nullptr;    // the chain's first provider (null: no chain)
  std::string escalation;             // "unavailable: ..." when the LLM tier could not be reached
  CascadeNote cascade;
  FailoverOutcome result;
  int64_t encode_us = 0;  // stage 3's model time (routes, encoding): not gateway overhead
  bool shadow_sampled = false;  // routing.shadow drew this request (gateway/shadow.h); `answer` holds its text
  std::string answer;
};

// Stage 3a alone: the described route the SLM picks (an index into routing.routes), the pick's probability among
// the routes, the scores and what they cost. kInvalidArgument when routing.routes is not configured.
struct RoutePick {
  size_t index = 0;
  double p = 0;
  ChoiceScores scores;
  int64_t took_us = 0;
};
asio::awaitable<Result<RoutePick>> PickDescribedRoute(const Snapshot& snap, const ChatRequest& req,
                                                      CancelState& cancel, const Clock& clock);

// Whether stage 3 and 5 may act on this decision.
bool SlmStagesApply(const RoutedOutcome& o);

asio::awaitable<RoutedOutcome> RoutedCall(const Snapshot& snap, const ChatRequest& req, const RouteHints& hints,
                                          RoutedSink& sink, CancelState& cancel, const Clock& clock);

// The ledger fields a routed call decides: route reasons, rule, personal-data kinds, privacy, escalation, the
// cascade's verdict, and the outcome (FillOutcome), the discarded draft's cost included.
void FillRow(const Snapshot& snap, const RoutedOutcome& o, LedgerRecord& row);

// Fills what the call's outcome says into a ledger row: the model that served (or `chosen`, or `fallback_model`),
// its tier and locality, tokens, cost, the all-LLM baseline, attempts, status and error, and the failover log.
void FillOutcome(const Snapshot& snap, const FailoverOutcome& result, const ModelInfo* chosen,
                 const std::string& fallback_model, LedgerRecord& row);

// Header values must stay on one line, in ASCII, and under 1 KiB.
std::string HeaderSafe(std::string s);

}  // namespace tandem
