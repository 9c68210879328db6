#include "ledger/cost.h"

namespace tandem {

double CostUsd(double in_price, double out_price, int64_t in, int64_t out) {
  return (static_cast<double>(in) * in_price + static_cast<double>(out) * out_price) / 1e6;
}

double CostUsd(const ModelInfo& m, const Usage& u) {
  return CostUsd(m.usd_per_mtok_in, m.usd_per_mtok_out, u.prompt_tokens, u.completion_tokens);
}

}  // namespace tandem
