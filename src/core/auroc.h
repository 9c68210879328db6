// Auroc: how well a score tells two classes apart — the area under the ROC curve (Mann-Whitney U, ties count
// half). 0.5 is chance, 1 perfect; NaN when either class is empty. Used by offline evaluation (eval/metrics.h) and
// by the gateway's live estimate of the self-knowledge router (ledger/metrics.h, the report). Pure; thread-safe.
#pragma once

#include <vector>

namespace tandem {

double Auroc(const std::vector<double>& scores, const std::vector<bool>& positive);

}  // namespace tandem
