// ModelInfo and Usage: what the system knows about one configured model, and what one call consumed.
//
// Plain values, built by config and read everywhere else; immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

enum class Tier { kSlm, kLlm };
enum class Locality { kLocal, kCloud };
enum class ProviderKind { kOpenAi, kAnthropic, kLocalEngine };

const char* TierName(Tier t);
const char* LocalityName(Locality l);

struct Timeouts {
  int connect_ms = 2000;
  int first_token_ms = 30000;  // until response headers / first streamed byte
  int total_ms = 300000;
};

struct RetryPolicy {
  int max_attempts = 2;  // per model, first try included
  int base_backoff_ms = 50;
  int max_backoff_ms = 2000;
};

struct BreakerPolicy {
  int failure_threshold = 5;  // consecutive failures that open the breaker
  int cooldown_ms = 10000;    // then one probe request is let through
};

struct ModelInfo {
  std::string name;  // what clients call it
  ProviderKind provider = ProviderKind::kOpenAi;
  std::string base_url;        // e.g. http://127.0.0.1:8080/v1 or https://api.openai.com/v1
  std::string upstream_model;  // the id sent upstream
  std::string api_key_env;     // environment variable holding the key ("" = none)
  std::string api_key;         // resolved at load time; never logged
  std::string tls_ca_file;     // extra PEM trust anchor for an https upstream behind a private CA
  std::string gguf_path;       // provider local: the GGUF file the in-process engine serves
  int threads = 2;             // provider local: compute threads
  // provider local: sequences generated at once (continuous batching; 0: 8 under 2B parameters, else 4), the
  // requests that may wait beyond them (0: twice the slots), and a bound on all slots' KV cache (0: none).
  int slots = 0;
  int queue = 0;
  int64_t kv_budget_mb = 0;
  int64_t prefix_cache_mb = 256;  // provider local: prompt prefixes kept across requests (0: none)
  Tier tier = Tier::kSlm;
  Locality locality = Locality::kLocal;
  double usd_per_mtok_in = 0;
  double usd_per_mtok_out = 0;
  int context = 8192;
  Timeouts timeouts;
  RetryPolicy retry;
  BreakerPolicy breaker;
  std::vector<std::string> fallbacks;  // model names tried in order when this one fails
  std::string unavailable;             // why it cannot serve (e.g. its API key is not set); "" = available
  int config_line = 0;                 // where it was declared, for messages

  // Whether it can read image, audio and file parts: the in-process engine reads text only (it refuses them);
  // an upstream server is trusted to say so itself.
  bool reads_media() const { return provider != ProviderKind::kLocalEngine; }
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool estimated = false;  // the upstream reported none; counted by Tandem's estimator
};

// Rough token count for text when no tokenizer is at hand (about 4 bytes per token for English).
int64_t EstimateTokens(size_t bytes);

}  // namespace tandem
