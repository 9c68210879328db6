// RouteLLM's router metrics, computed exactly as its evaluator computes them.
//
// A router gives each prompt a score (higher = more in need of the strong model). RouteLlmCurve sweeps the
// thresholds RouteLLM uses — the edges of `num_results` equal-count bins of the scores (pandas.qcut, linear
// quantiles) — sending a prompt to the strong model when score >= threshold (> for the last edge), and
// records the share of strong calls and the accuracy at each. Summarize gives CPT(20/50/80%) (numpy.interp
// of the target accuracy over the curve, numpy's search included, so non-monotonic curves match too), AUC
// and APGR (trapezoidal areas). tests/golden/routellm_metrics.json holds figures from pandas/numpy that these
// reproduce. Pure functions; thread-safe.
#pragma once

#include "core/auroc.h"

#include <cstdint>
#include <vector>

namespace tandem::eval {

struct CurvePoint {
  double threshold = 0;
  double strong_pct = 0;  // 0..100
  double accuracy = 0;    // 0..100
};

struct Metrics {
  double cpt20 = 0, cpt50 = 0, cpt80 = 0;  // % strong calls to recover 20/50/80% of the quality gap
  double auc = 0;
  double apgr = 0;
};

// Linear-interpolation quantile of sorted values (numpy/pandas default), q in [0, 1].
double Quantile(const std::vector<double>& sorted, double q);

std::vector<CurvePoint> RouteLlmCurve(const std::vector<double>& scores, const std::vector<double>& weak,
                                      const std::vector<double>& strong, int num_results = 10);

// The best possible router: the strong model only where it is right and the weak one is wrong (as RouteLLM's
// get_optimal_accuracy), at 0, 10, ..., 100% strong calls.
std::vector<CurvePoint> OracleCurve(const std::vector<double>& weak, const std::vector<double>& strong);

Metrics Summarize(std::vector<CurvePoint> curve, double weak_acc, double strong_acc);

// PGR at a given strong share (linear interpolation along the curve sorted by share).
double PgrAt(std::vector<CurvePoint> curve, double strong_pct, double weak_acc, double strong_acc);

// The area under the ROC curve (core/auroc.h).
using tandem::Auroc;

// Expected calibration error of probabilities `p` for outcomes `y` (0/1): |mean p - mean y| per equal-width bin,
// weighted by the bin's share.
double CalibrationError(const std::vector<double>& p, const std::vector<double>& y, int bins = 10);

// numpy.interp(x, xp, fp) for one x, including numpy's guessing search (which matters when xp is not sorted).
double NumpyInterp(double x, const std::vector<double>& xp, const std::vector<double>& fp);

}  // namespace tandem::eval
