// Config: tandem.yaml parsed into typed, validated values.
//
// LoadConfig reads the file, checks every field and every cross-reference (fallbacks, tier defaults,
// rule targets), and reports the first problem as "<file>:<line>: <path>: <what is wrong>". Secrets are
// read from the environment variables (or the keys file) the config names, never from the YAML itself.
// A model whose API key is missing stays configured but is marked unavailable, so the server can start
// and say which tier is missing. A Config is an immutable value once loaded; share it by shared_ptr.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model_info.h"
#include "core/status.h"

namespace tandem {

struct RuleSpec {
  std::string name;
  int line = 0;
  std::optional<int64_t> min_tokens, max_tokens;
  std::optional<int> min_turns, max_turns;
  std::optional<bool> tools;
  std::optional<bool> pii;
  std::optional<bool> media;          // an image, audio or file part
  std::vector<std::string> tasks;     // any of
  std::vector<std::string> keywords;  // any of, case-insensitive
  std::string regex;                  // RE2 syntax, searched in the last user message
  std::string target;                 // "slm", "llm" or a model name
};

// Cascade: for routed requests that land on the SLM tier, the SLM drafts the answer first (streamed into a
// buffer, with token logprobs); the draft stands when its confidence reaches min_confidence, else the
// request escalates to the LLM tier and the client sees only the LLM's answer.
// With `router` (a calibrated confidence router, `tandem train --signals`), the confidence is that router's
// P(the draft is right) and min_confidence a threshold on it, which `tandem calibrate --cascade` sets for a
// target LLM share or a target accuracy.
struct CascadeConfig {
  bool enabled = false;
  double min_confidence = 0.5;      // in [0, 1]
  std::string router;               // a .tcr file ("" = the raw `measure`)
  double target_llm_share = -1;     // what `tandem calibrate --cascade` chose min_confidence for (-1 = not)
  double target_accuracy = -1;
  int router_line = 0, min_confidence_line = 0, target_share_line = 0, target_accuracy_line = 0;
  std::string measure = "mean";     // "mean": geometric-mean token probability; "min": the least likely token
  int64_t ttft_budget_ms = 0;       // the draft's first token must come this fast, else escalate (0 = no limit)
  bool escalate_without_logprobs = false;  // a draft without logprobs: escalate (true) or let it stand
  int line = 0;
};

// Shadow learning: a sampled share of the answers the SLM tier served is graded in the background by `judge`
// (a configured model, normally the LLM); the verdicts are ledger rows (`tandem train --from-ledger`), and
// /metrics and `tandem report` show the live accuracy and the cascade router's AUROC. A request that privacy
// keeps local is never sampled.
struct ShadowConfig {
  bool enabled = false;
  double sample = 0.02;   // in [0, 1]
  std::string judge;      // a configured model
  int max_in_flight = 4;  // judgments running at once; a sample beyond that is skipped (and counted)
  int line = 0;
};

// A route described in words (routing.routes): the in-process SLM picks the route whose name best continues a
// routing prompt that lists every route's description after the user's conversation; `target` then serves it.
struct DescribedRoute {
  std::string name, description, target;
  std::vector<std::string> examples;  // requests that belong here, shown to the SLM as worked examples
  int line = 0;
};

struct RoutingConfig {
  std::string default_target = "slm";
  std::string slm_model;                       // default model of the SLM tier
  std::string llm_model;                       // default model of the LLM tier
  std::map<std::string, std::string> aliases;  // client-facing name -> target; "auto" is always routed
  bool local_only = false;                     // privacy: requests with personal data never leave
  std::vector<std::string> pii_kinds;          // enabled detectors
  std::vector<RuleSpec> rules;
  // Learned router, consulted when no rule matched: score >= threshold sends the request to the LLM tier.
  std::string learned_model;  // path to a file made by `tandem train` ("" = none)
  double learned_threshold = 0.5;
  double target_llm_share = -1;  // the share `tandem calibrate` chose the threshold for (-1 = not calibrated)
  int learned_line = 0;
  int threshold_line = 0;        // where routing.learned's `threshold:` is written (0 = not written)
  int target_line = 0;           // where a `target_llm_share:` is written (0 = not written)
  // Trade-off router among more than two models (a file made by `tandem train --models`), consulted when no
  // rule matched (instead of the learned router): the model maximising p(good) - lambda * cost / max cost.
  std::string tradeoff_router;                         // "" = none
  double tradeoff_lambda = 0.3;
  std::map<std::string, std::string> tradeoff_models;  // the router's model name -> configured model
  int64_t tradeoff_output_tokens = 256;                // expected answer length when max_tokens is unset
  int tradeoff_line = 0;
  CascadeConfig cascade;
  ShadowConfig shadow;
  std::vector<DescribedRoute> routes;  // consulted when no rule matched, before the SLM-scored router
  // SLM-scored router (a file made by `tandem train --encoder`): the local SLM encodes the prompt and a trained
  // head scores it; consulted when no rule matched, before the learned router. score >= threshold -> LLM tier.
  std::string slm_scored_router;  // "" = none
  std::string slm_scored_model;   // the local model that encodes (default: routing.slm)
  double slm_scored_threshold = 0.5;
  int slm_scored_line = 0;
  int slm_scored_threshold_line = 0;
  int line = 0;
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  int workers = 2;
  size_t max_body_bytes = 4 << 20;
  int busy_poll_us = 0;
};

struct ClientKey {
  std::string id;
  std::string key;
};

// Agents and workflows served over HTTP (agency.*): where named workflows live, which tools runs may use, and how
// many runs execute at once (off the network threads).
struct AgencyConfig {
  std::string workflows_dir;       // resolved; "" = no workflows over HTTP
  std::vector<std::string> tools;  // tool specs (agency/tool_specs.h); paths resolved against the config file
  int run_workers = 2;
};

struct Config {
  std::string path;
  AgencyConfig agency;
  ServerConfig server;
  std::string ledger_path = "tandem-ledger.db";
  std::vector<ClientKey> keys;  // empty: no authentication
  std::vector<ModelInfo> models;
  RoutingConfig routing;

  const ModelInfo* find(const std::string& name) const;
};

// Looks up an environment variable; returns nullptr when unset. Injected for tests.
using EnvLookup = std::function<const char*(const char*)>;
EnvLookup ProcessEnv();

// Parses YAML text. `path` is used in messages and to resolve relative paths.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& path, const EnvLookup& env);
// Reads and parses a file.
Result<Config> LoadConfig(const std::string& path, const EnvLookup& env);

// All PII detector names.
const std::vector<std::string>& AllPiiKinds();
// All task types the heuristic classifier emits.
const std::vector<std::string>& AllTaskTypes();

}  // namespace tandem
