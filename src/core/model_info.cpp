#include "core/model_info.h"

namespace tandem {

const char* TierName(Tier t) { return t == Tier::kSlm ? "slm" : "llm"; }
const char* LocalityName(Locality l) { return l == Locality::kLocal ? "local" : "cloud"; }
int64_t EstimateTokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

}  // namespace tandem
