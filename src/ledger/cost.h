// Cost: USD for a number of tokens at a model's price.
#pragma once

#include "core/model_info.h"

namespace tandem {

double CostUsd(const ModelInfo& m, const Usage& u);
double CostUsd(double usd_per_mtok_in, double usd_per_mtok_out, int64_t in, int64_t out);

}  // namespace tandem
