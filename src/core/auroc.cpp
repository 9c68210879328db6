#include "core/auroc.h"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace tandem {

double Auroc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  std::vector<size_t> idx(scores.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney: the positives' mean rank (ties averaged) against the negatives'.
  double rank_sum = 0, pos = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) ++j;
    const double rank = (static_cast<double>(i + j) + 1) / 2;  // ranks i+1 .. j
    for (size_t t = i; t < j; ++t)
      if (positive[idx[t]]) rank_sum += rank, pos += 1;
    i = j;
  }
  const double neg = static_cast<double>(scores.size()) - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

}  // namespace tandem
