#include "eval/multi_eval.h"

#include <algorithm>
#include <cstdio>
#include <random>

namespace tandem::eval {
namespace {

const double kLambdas[] = {0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 1e9};

MultiPoint Replay(const MultiDataset& d, const std::vector<int>& chosen, std::string label) {
  MultiPoint p;
  p.label = std::move(label);
  p.share.assign(d.models.size(), 0);
  const double n = static_cast<double>(d.prompts.size());
  for (size_t i = 0; i < d.prompts.size(); ++i) {
    size_t m = static_cast<size_t>(chosen[i]);
    p.at.cost += d.cost[i][m] / n;
    p.at.quality += 100 * d.quality[i][m] / n;
    p.share[m] += 1 / n;
  }
  return p;
}

}  // namespace

double Aiq(std::vector<CostQuality> pts, double lo, double hi) {
  if (pts.empty() || hi <= lo) return 0;
  std::sort(pts.begin(), pts.end(), [](const CostQuality& a, const CostQuality& b) {
    return a.cost < b.cost || (a.cost == b.cost && a.quality > b.quality);
  });
  // Upper convex hull (monotone chain), then made non-decreasing: past its best point the curve stays flat
  // (spending more need not buy less).
  std::vector<CostQuality> hull;
  for (const auto& p : pts) {
    if (!hull.empty() && hull.back().cost == p.cost) continue;
    while (hull.size() >= 2) {
      const CostQuality& a = hull[hull.size() - 2];
      const CostQuality& b = hull.back();
      double cross = (b.cost - a.cost) * (p.quality - a.quality) - (b.quality - a.quality) * (p.cost - a.cost);
      if (cross >= 0) hull.pop_back();
      else break;
    }
    hull.push_back(p);
  }
  size_t top = 0;
  for (size_t i = 1; i < hull.size(); ++i)
    if (hull[i].quality > hull[top].quality) top = i;
  hull.resize(top + 1);
  // Integrate over [lo, hi]; before the first point the curve is the first point's quality only once
  // reachable, so treat it as 0 below it (a router cannot be cheaper than its cheapest point).
  auto value = [&](double c) {
    if (c < hull.front().cost) return 0.0;
    for (size_t i = 1; i < hull.size(); ++i) {
      if (c <= hull[i].cost) {
        double t = (c - hull[i - 1].cost) / (hull[i].cost - hull[i - 1].cost);
        return hull[i - 1].quality + t * (hull[i].quality - hull[i - 1].quality);
      }
    }
    return hull.back().quality;
  };
  // The curve is piecewise linear: integrate exactly between its breakpoints.
  std::vector<double> xs = {lo, hi};
  for (const auto& h : hull)
    if (h.cost > lo && h.cost < hi) xs.push_back(h.cost);
  std::sort(xs.begin(), xs.end());
  double area = 0;
  for (size_t i = 1; i < xs.size(); ++i) area += (xs[i] - xs[i - 1]) * (value(xs[i - 1]) + value(xs[i])) / 2;
  return area / (hi - lo);
}

MultiResult EvalMulti(const MultiDataset& d, const MultiRouter& router) {
  MultiResult r;
  const size_t k = d.models.size(), n = d.prompts.size();
  // The router's model order may differ from the dataset's: map by name.
  std::vector<int> to_data(router.models().size(), -1);
  for (size_t j = 0; j < router.models().size(); ++j) {
    auto it = std::find(d.models.begin(), d.models.end(), router.models()[j]);
    if (it != d.models.end()) to_data[j] = static_cast<int>(it - d.models.begin());
  }
  for (size_t m = 0; m < k; ++m) {
    std::vector<int> all(n, static_cast<int>(m));
    r.models.push_back(Replay(d, all, d.models[m]).at);
    if (r.models[m].quality > r.models[static_cast<size_t>(r.best_model)].quality) r.best_model = static_cast<int>(m);
  }
  std::vector<int> oracle(n);
  for (size_t i = 0; i < n; ++i) {
    int best = -1;
    for (size_t m = 0; m < k; ++m) {
      bool better = best < 0 || d.quality[i][m] > d.quality[i][static_cast<size_t>(best)] ||
                    (d.quality[i][m] == d.quality[i][static_cast<size_t>(best)] &&
                     d.cost[i][m] < d.cost[i][static_cast<size_t>(best)]);
      if (better) best = static_cast<int>(m);
    }
    oracle[i] = best;
  }
  r.oracle = Replay(d, oracle, "oracle").at;

  // Offline cost estimate per model: the router's mean training cost (what it believes before the call).
  std::vector<double> est(router.models().size());
  for (size_t j = 0; j < est.size(); ++j) est[j] = to_data[j] >= 0 ? router.mean_cost()[j] : -1;
  std::vector<std::vector<double>> preds(n);
  for (size_t i = 0; i < n; ++i) preds[i] = router.Predict(d.prompts[i]);
  for (double lambda : kLambdas) {
    std::vector<int> chosen(n);
    for (size_t i = 0; i < n; ++i) chosen[i] = to_data[static_cast<size_t>(MultiRouter::Choose(preds[i], est, lambda))];
    char label[48];
    std::snprintf(label, sizeof label, lambda >= 1e9 ? "lambda=inf" : "lambda=%g", lambda);
    r.curve.push_back(Replay(d, chosen, label));
  }
  std::vector<double> sorted_costs;
  for (double c : est)
    if (c >= 0) sorted_costs.push_back(c);
  std::sort(sorted_costs.begin(), sorted_costs.end());
  for (double budget : sorted_costs) {
    std::vector<int> chosen(n);
    for (size_t i = 0; i < n; ++i)
      chosen[i] = to_data[static_cast<size_t>(MultiRouter::ChooseWithinBudget(preds[i], est, budget))];
    char label[48];
    std::snprintf(label, sizeof label, "budget=$%.6f", budget);
    r.budgets.push_back(Replay(d, chosen, label));
  }

  double lo = r.models[0].cost, hi = lo;
  for (const auto& m : r.models) {
    lo = std::min(lo, m.cost);
    hi = std::max(hi, m.cost);
  }
  r.aiq_zero = Aiq(r.models, lo, hi);
  std::vector<CostQuality> pts;
  for (const auto& p : r.curve) pts.push_back(p.at);
  r.aiq = Aiq(pts, lo, hi);
  const double target = r.models[static_cast<size_t>(r.best_model)].quality;
  for (const auto& p : r.curve) {
    if (p.at.quality >= target - 1e-9 && (r.cost_to_match_best < 0 || p.at.cost < r.cost_to_match_best))
      r.cost_to_match_best = p.at.cost;
  }
  return r;
}

std::string FormatMulti(const MultiDataset& d, const MultiResult& r) {
  std::string out;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out.append(line);
  };
  add("%s: %zu prompts, %zu models (%zu rows left out: blank outcome or cost)\n", d.name.c_str(), d.prompts.size(),
      d.models.size(), d.skipped);
  add("  %-40s %9s %12s\n", "model", "quality", "$/prompt");
  for (size_t m = 0; m < d.models.size(); ++m)
    add("  %-40s %8.2f%% %12.7f%s\n", d.models[m].c_str(), r.models[m].quality, r.models[m].cost,
        static_cast<int>(m) == r.best_model ? "  (best)" : "");
  add("  %-40s %8.2f%% %12.7f\n", "oracle (cheapest model that answers well)", r.oracle.quality, r.oracle.cost);
  add("router, by trade-off lambda (utility = p(good) - lambda * cost / max cost):\n");
  add("  %-16s %9s %12s   %s\n", "point", "quality", "$/prompt", "most used");
  auto most_used = [&](const MultiPoint& p) {
    std::vector<size_t> idx(p.share.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p.share[a] > p.share[b]; });
    std::string s;
    for (size_t j = 0; j < idx.size() && j < 2 && p.share[idx[j]] > 0; ++j) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s%s %.0f%%", j ? ", " : "", d.models[idx[j]].c_str(), 100 * p.share[idx[j]]);
      s += buf;
    }
    return s;
  };
  for (const auto& p : r.curve)
    add("  %-16s %8.2f%% %12.7f   %s\n", p.label.c_str(), p.at.quality, p.at.cost, most_used(p).c_str());
  add("router, by per-request budget (best predicted model whose expected cost fits):\n");
  for (const auto& p : r.budgets)
    add("  %-16s %8.2f%% %12.7f   %s\n", p.label.c_str(), p.at.quality, p.at.cost, most_used(p).c_str());
  add("AIQ (area under the quality-cost hull over the single models' cost range): router %.2f, zero router %.2f\n",
      r.aiq, r.aiq_zero);
  const CostQuality& best = r.models[static_cast<size_t>(r.best_model)];
  if (r.cost_to_match_best >= 0) {
    add("matches the best single model (%.2f%%) at %.1f%% of its cost\n", best.quality,
        100 * r.cost_to_match_best / best.cost);
  } else {
    double q = 0;
    for (const auto& p : r.curve) q = std::max(q, p.at.quality);
    add("does not reach the best single model (%.2f%%): best router point %.2f%%\n", best.quality, q);
  }
  return out;
}

std::pair<MultiDataset, MultiDataset> SplitMulti(const MultiDataset& d, double train_fraction, unsigned seed) {
  std::vector<size_t> idx(d.prompts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  size_t cut = static_cast<size_t>(train_fraction * static_cast<double>(idx.size()));
  MultiDataset parts[2];
  for (int k = 0; k < 2; ++k) {
    parts[k].name = d.name + (k == 0 ? " (train)" : " (held out)");
    parts[k].models = d.models;
  }
  for (size_t j = 0; j < idx.size(); ++j) {
    MultiDataset& p = parts[j < cut ? 0 : 1];
    size_t i = idx[j];
    p.prompts.push_back(d.prompts[i]);
    p.quality.push_back(d.quality[i]);
    p.cost.push_back(d.cost[i]);
  }
  return {std::move(parts[0]), std::move(parts[1])};
}

}  // namespace tandem::eval
