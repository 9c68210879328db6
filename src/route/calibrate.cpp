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

CascadeCalibration CalibrateCascade(const std::vector<double>& p_right, const std::vector<bool>& slm_right,
                                    const std::vector<bool>& llm_right, double target_share, double target_accuracy) {
  CascadeCalibration c;
  const size_t n = p_right.size();
  if (n == 0 || slm_right.size() != n || llm_right.size() != n) {
    c.note = "no labelled answers";
    return c;
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p_right[a] < p_right[b]; });
  // Cut points between distinct values only: escalating the k least confident, k at a boundary of ties.
  // right[k]: right answers when the k least confident escalate.
  std::vector<double> right(n + 1, 0);
  for (size_t i = 0; i < n; ++i) right[0] += slm_right[i];
  for (size_t k = 1; k <= n; ++k) {
    const size_t i = order[k - 1];
    right[k] = right[k - 1] - slm_right[i] + llm_right[i];
  }
  c.slm_accuracy = right[0] / static_cast<double>(n);
  c.llm_accuracy = 0;
  for (size_t i = 0; i < n; ++i) c.llm_accuracy += llm_right[i] ? 1.0 / static_cast<double>(n) : 0.0;
  auto cut_ok = [&](size_t k) { return k == 0 || k == n || p_right[order[k - 1]] < p_right[order[k]]; };
  size_t best = 0;
  bool found = false;
  char buf[160];
  if (target_share >= 0) {
    double best_gap = 2;
    for (size_t k = 0; k <= n; ++k) {
      if (!cut_ok(k)) continue;
      const double gap = std::fabs(static_cast<double>(k) / static_cast<double>(n) - target_share);
      if (gap < best_gap) best_gap = gap, best = k;
    }
    found = true;
  } else {
    for (size_t k = 0; k <= n && !found; ++k) {
      if (cut_ok(k) && right[k] / static_cast<double>(n) >= target_accuracy) best = k, found = true;
    }
    if (!found) {
      size_t arg = 0;
      for (size_t k = 0; k <= n; ++k)
        if (cut_ok(k) && right[k] > right[arg]) arg = k;
      best = arg;
      std::snprintf(buf, sizeof buf, "no threshold reaches %.1f%% accuracy; the best is %.1f%%", 100 * target_accuracy,
                    100 * right[arg] / static_cast<double>(n));
      c.note = buf;
    }
  }
  if (best == 0) {
    c.min_confidence = p_right[order[0]] / 2;
  } else if (best == n) {
    const double top = p_right[order[n - 1]];
    c.min_confidence = std::min(1.0, top + (1 - top) / 2);
    if (top >= 1) c.min_confidence = 1;
  } else {
    c.min_confidence = (p_right[order[best - 1]] + p_right[order[best]]) / 2;
  }
  c.llm_share = static_cast<double>(best) / static_cast<double>(n);
  c.accuracy = right[best] / static_cast<double>(n);
  if (target_share >= 0 && std::fabs(c.llm_share - target_share) > 0.5 / static_cast<double>(n) && c.note.empty()) {
    std::snprintf(buf, sizeof buf, "tied confidences make the exact share unreachable (%.1f%%)", 100 * c.llm_share);
    c.note = buf;
  }
  return c;
}

}  // namespace tandem
