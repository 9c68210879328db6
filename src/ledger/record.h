// LedgerRecord: one row of the ledger, written once per request (and later per agent step).
//
// A plain value. Money is in USD; times are microseconds. Never holds a secret: the client key is
// recorded by its configured id only.
#pragma once

#include <cstdint>
#include <string>

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
};

}  // namespace tandem
