// LedgerRecord: one row of the ledger, written once per request (and later per agent step).
//
// A plain value. Money is in USD; times are microseconds. Never holds a secret: the client key is
// recorded by its configured id only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace tandem {

struct LedgerRecord {
  int64_t ts_us = 0;  // wall time the request arrived
  std::string request_id;
  std::string key_id;           // client key id ("" when auth is off)
  std::string requested_model;  // what the client asked for ("auto", an alias, a model)
  std::string model;            // the model that served (or was last tried)
  std::string tier;             // slm | llm
  std::string locality;         // local | cloud
  std::string reasons;          // the route decision, human-readable
  std::string rule;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool usage_estimated = false;
  double cost_usd = 0;
  double baseline_usd = 0;  // what the default LLM would have cost for the same tokens
  int64_t ttft_us = 0;
  int64_t total_us = 0;
  int64_t overhead_us = 0;  // total minus time waiting on upstreams
  int http_status = 200;
  std::string status = "ok";  // Status::code_name()
  std::string error;
  std::string pii;  // comma-separated kinds found
  bool local_only = false;
  bool stream = false;
  int attempts = 1;
  std::string escalation;  // "" or why escalation to the LLM did not happen
  // The cascade's SLM draft: its tokens (prompt + completion) and cost (inside cost_usd when it was discarded),
  // its confidence signals as a JSON object ("" = no draft) and the calibrated P(right) (-1 = no router).
  int64_t draft_tokens = 0;
  double draft_cost_usd = 0;
  std::string signals;
  double p_right = -1;
  // A shadow judgment (routing.shadow): the request judged, and the verdict on the SLM's answer (1 right,
  // 0 wrong; -1 on every other row). Its cost is the judge's, reported apart from the traffic's.
  std::string shadow_of;
  int verdict = -1;
};

// Signals as a JSON object ({} for none is written as ""), and back ("" or malformed: empty).
std::string SignalsJson(const std::map<std::string, double>& signals);
std::map<std::string, double> ParseSignals(std::string_view json);

}  // namespace tandem
