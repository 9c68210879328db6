#include "route/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace tandem {

Calibration CalibrateThreshold(std::vector<double> scores, size_t fixed_llm, size_t total, double target) {
  Calibration c;
  c.learned = scores.size();
  if (total == 0) {
    c.note = "empty sample";
    return c;
  }
  const double n = static_cast<double>(total);
  c.rules_share = static_cast<double>(fixed_llm) / n;
  std::sort(scores.begin(), scores.end(), std::greater<double>());
  // How many of the learned router's requests should go to the LLM: as close to the target as integers allow.
  long want = std::lround(target * n) - static_cast<long>(fixed_llm);
  char buf[160];
  if (want < 0) {
    std::snprintf(buf, sizeof buf, "the rules alone send %.1f%% to the LLM, above the %.1f%% target",
                  100 * c.rules_share, 100 * target);
    c.note = buf;
    want = 0;
  }
  if (static_cast<size_t>(want) > scores.size()) {
    std::snprintf(buf, sizeof buf,
                  "even with every learned decision going to the LLM the share is %.1f%%, below the %.1f%% target",
                  100.0 * static_cast<double>(fixed_llm + scores.size()) / n, 100 * target);
    c.note = buf;
    want = static_cast<long>(scores.size());
  }
  const size_t k = static_cast<size_t>(want);
  if (scores.empty()) {
    c.threshold = 1.0;
  } else if (k == 0) {
    // Above every score in the sample (a score of exactly 1.0 would still go to the LLM).
    c.threshold = std::min(1.0, scores.front() + (1.0 - scores.front()) / 2);
    if (scores.front() >= 1.0) c.threshold = 1.0;
  } else if (k == scores.size()) {
    c.threshold = std::max(0.0, scores.back() / 2);
  } else {
    // Ties straddling the cut make an exact split impossible: put the cut at the nearer edge of the tie.
    double upper = scores[k - 1], lower = scores[k];
    if (upper == lower) {
      size_t first = k - 1, last = k;
      while (first > 0 && scores[first - 1] == upper) --first;
      while (last + 1 < scores.size() && scores[last + 1] == upper) ++last;
      size_t take_all = last + 1, take_none = first;  // LLM count if the tie goes up / stays down
      bool up = take_all - k <= k - take_none;
      if (up) {
        lower = last + 1 < scores.size() ? scores[last + 1] : 0.0;
      } else {
        lower = upper;
        upper = first > 0 ? scores[first - 1] : 1.0;
      }
      if (c.note.empty()) c.note = "tied scores make the exact share unreachable";
    }
    c.threshold = (upper + lower) / 2;
  }
  size_t llm = fixed_llm;
  for (double s : scores) llm += s >= c.threshold ? 1 : 0;
  c.achieved_share = static_cast<double>(llm) / n;
  return c;
}

}  // namespace tandem
