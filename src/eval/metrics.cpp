#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace tandem::eval {
namespace {

// numpy's binary_search_with_guess (compiled_base.c), reproduced for identical results on unsorted input.
int64_t SearchWithGuess(double key, const std::vector<double>& arr, int64_t guess) {
  const int64_t len = static_cast<int64_t>(arr.size());
  constexpr int64_t kLikelyInCache = 8;
  int64_t imin = 0, imax = len;
  if (key > arr[len - 1]) return len;
  if (key < arr[0]) return -1;
  if (len <= 4) {
    int64_t i = 1;
    while (i < len && key >= arr[i]) ++i;
    return i - 1;
  }
  guess = std::clamp<int64_t>(guess, 1, len - 3);
  if (key < arr[guess]) {
    if (key < arr[guess - 1]) {
      imax = guess - 1;
      if (guess > kLikelyInCache && key >= arr[guess - kLikelyInCache]) imin = guess - kLikelyInCache;
    } else {
      return guess - 1;
    }
  } else {
    if (key < arr[guess + 1]) return guess;
    if (key < arr[guess + 2]) return guess + 1;
    imin = guess + 2;
    if (guess < len - kLikelyInCache - 1 && key < arr[guess + kLikelyInCache]) imax = guess + kLikelyInCache;
  }
  while (imin < imax) {
    const int64_t imid = imin + ((imax - imin) >> 1);
    if (key >= arr[imid]) {
      imin = imid + 1;
    } else {
      imax = imid;
    }
  }
  return imin - 1;
}

double Trapezoid(const std::vector<double>& y, const std::vector<double>& x) {
  double area = 0;
  for (size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return area;
}

void SortByShare(std::vector<CurvePoint>& curve) {
  std::stable_sort(curve.begin(), curve.end(),
                   [](const CurvePoint& a, const CurvePoint& b) { return a.strong_pct < b.strong_pct; });
}

}  // namespace

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double h = (static_cast<double>(sorted.size()) - 1) * q;
  size_t lo = static_cast<size_t>(std::floor(h));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double NumpyInterp(double x, const std::vector<double>& xp, const std::vector<double>& fp) {
  const int64_t n = static_cast<int64_t>(xp.size());
  if (n == 0) return std::nan("");
  if (n == 1) return fp[0];
  int64_t j = SearchWithGuess(x, xp, 0);
  if (j == -1) return fp[0];
  if (j == n) return fp[n - 1];
  if (j == n - 1) return fp[j];
  if (xp[j] == x) return fp[j];
  const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  double r = slope * (x - xp[j]) + fp[j];
  if (std::isnan(r)) {
    r = slope * (x - xp[j + 1]) + fp[j + 1];
    if (std::isnan(r) && fp[j] == fp[j + 1]) r = fp[j];
  }
  return r;
}

std::vector<CurvePoint> RouteLlmCurve(const std::vector<double>& scores, const std::vector<double>& weak,
                                      const std::vector<double>& strong, int num_results) {
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  std::vector<CurvePoint> out;
  const double n = static_cast<double>(scores.size());
  for (int i = 0; i <= num_results; ++i) {
    double t = Quantile(sorted, static_cast<double>(i) / num_results);
    bool last = i == num_results;
    double strong_calls = 0, correct = 0;
    for (size_t k = 0; k < scores.size(); ++k) {
      bool to_strong = last ? scores[k] > t : scores[k] >= t;
      strong_calls += to_strong;
      correct += to_strong ? strong[k] : weak[k];
    }
    out.push_back(CurvePoint{t, strong_calls / n * 100, correct / n * 100});
  }
  return out;
}

std::vector<CurvePoint> OracleCurve(const std::vector<double>& weak, const std::vector<double>& strong) {
  const double n = static_cast<double>(weak.size());
  double weak_correct = std::accumulate(weak.begin(), weak.end(), 0.0), fixable = 0;
  for (size_t k = 0; k < weak.size(); ++k) fixable += (weak[k] == 0 && strong[k] == 1);
  std::vector<CurvePoint> out;
  for (int pct = 0; pct <= 100; pct += 10) {
    double calls = n * pct / 100.0;
    out.push_back(
        CurvePoint{0, static_cast<double>(pct), (weak_correct + std::min(calls, fixable)) / n * 100});
  }
  return out;
}

Metrics Summarize(std::vector<CurvePoint> curve, double weak_acc, double strong_acc) {
  SortByShare(curve);
  std::vector<double> acc, share, x;
  for (const auto& p : curve) {
    acc.push_back(p.accuracy);
    share.push_back(p.strong_pct);
    x.push_back(p.strong_pct / 100);
  }
  Metrics m;
  double* cpt[] = {&m.cpt20, &m.cpt50, &m.cpt80};
  const double fractions[] = {0.2, 0.5, 0.8};
  for (int i = 0; i < 3; ++i)
    *cpt[i] = NumpyInterp(fractions[i] * (strong_acc - weak_acc) + weak_acc, acc, share);
  m.auc = Trapezoid(acc, x);
  double weak_auc = Trapezoid(std::vector<double>(x.size(), weak_acc), x);
  double strong_auc = Trapezoid(std::vector<double>(x.size(), strong_acc), x);
  m.apgr = (m.auc - weak_auc) / (strong_auc - weak_auc);
  return m;
}

double PgrAt(std::vector<CurvePoint> curve, double strong_pct, double weak_acc, double strong_acc) {
  SortByShare(curve);
  std::vector<double> share, acc;
  for (const auto& p : curve) {
    share.push_back(p.strong_pct);
    acc.push_back(p.accuracy);
  }
  return (NumpyInterp(strong_pct, share, acc) - weak_acc) / (strong_acc - weak_acc);
}

double CalibrationError(const std::vector<double>& p, const std::vector<double>& y, int bins) {
  std::vector<double> sp(static_cast<size_t>(bins), 0), sy(static_cast<size_t>(bins), 0), n(static_cast<size_t>(bins), 0);
  for (size_t i = 0; i < p.size(); ++i) {
    size_t b = static_cast<size_t>(std::min(std::max(p[i], 0.0), 1.0) * bins);
    if (b == static_cast<size_t>(bins)) --b;
    sp[b] += p[i], sy[b] += y[i], n[b] += 1;
  }
  double e = 0;
  for (size_t b = 0; b < n.size(); ++b)
    if (n[b] > 0) e += std::fabs(sp[b] - sy[b]) / static_cast<double>(p.size());
  return e;
}

}  // namespace tandem::eval
