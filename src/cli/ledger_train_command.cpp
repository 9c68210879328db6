// `tandem train --from-ledger`: the calibrated self-knowledge router (route/confidence_router.h) refitted on the
// gateway's own traffic — the shadow judge's verdicts (gateway/shadow.h) on sampled SLM answers, with the draft
// signals the cascade recorded for each. Prints how the router in force ranked those answers (the recorded
// P(right)) beside the refit (5-fold cross-validated AUROC), then saves the refit.
#include <cstdio>
#include <limits>
#include <map>

#include "cli/commands.h"
#include "core/auroc.h"
#include "ledger/sqlite_store.h"
#include "route/confidence_router.h"

namespace tandem {
namespace {

struct Verdicts {
  std::string slm;
  std::vector<std::map<std::string, double>> signals;
  std::vector<double> recorded;  // the P(right) of the router in force (-1: none)
  std::vector<double> right;
};

Result<Verdicts> ReadVerdicts(const std::string& path) {
  auto store = SqliteStore::Open(path, true);
  if (!store.ok()) return store.status();
  auto rows = store.value()->rows_since(0);
  if (!rows.ok()) return rows.status();
  Verdicts v;
  std::map<std::string, size_t> slms;
  for (const auto& r : rows.value()) {
    if (r.shadow_of.empty() || r.verdict < 0 || r.signals.empty()) continue;
    ++slms[r.requested_model];
  }
  size_t most = 0;
  for (const auto& [slm, n] : slms)
    if (n > most) most = n, v.slm = slm;
  for (const auto& r : rows.value()) {
    if (r.shadow_of.empty() || r.verdict < 0 || r.signals.empty() || r.requested_model != v.slm) continue;
    v.signals.push_back(ParseSignals(r.signals));
    v.recorded.push_back(r.p_right);
    v.right.push_back(r.verdict);
  }
  if (slms.size() > 1)
    std::fprintf(stderr, "note: verdicts on %zu SLMs; fitting for the one with the most (%s)\n", slms.size(),
                 v.slm.c_str());
  return v;
}

std::vector<double> Row(const std::map<std::string, double>& sig, const std::vector<std::string>& names) {
  std::vector<double> row;
  for (const auto& n : names) {
    auto it = sig.find(n);
    row.push_back(it == sig.end() ? 0 : it->second);
  }
  return row;
}

// AUROC of the refit on folds it did not see (NaN when a fold lacks a class).
double CrossValidatedAuroc(const Verdicts& v, const std::vector<std::string>& names, double l2) {
  constexpr size_t kFolds = 5;
  std::vector<double> p(v.right.size(), 0.5);
  for (size_t f = 0; f < kFolds; ++f) {
    std::vector<std::vector<double>> rows;
    std::vector<double> right;
    for (size_t i = 0; i < v.right.size(); ++i)
      if (i % kFolds != f) rows.push_back(Row(v.signals[i], names)), right.push_back(v.right[i]);
    auto r = ConfidenceRouter::Fit(names, rows, right, v.slm, l2);
    if (!r.ok()) return std::numeric_limits<double>::quiet_NaN();
    for (size_t i = f; i < v.right.size(); i += kFolds) p[i] = r->p_right_row(Row(v.signals[i], names));
  }
  std::vector<bool> y;
  for (double r : v.right) y.push_back(r >= 0.5);
  return Auroc(p, y);
}

}  // namespace

int LedgerTrainCommand(const ConfidenceTrainArgs& a) {
  auto v = ReadVerdicts(a.ledger);
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().message().c_str());
    return 1;
  }
  const size_t n = v->right.size();
  double n_right = 0;
  for (double r : v->right) n_right += r;
  if (n < 10 || n_right == 0 || n_right == static_cast<double>(n)) {
    std::fprintf(stderr, "%s: %zu shadow verdicts with draft signals (%.0f right): a router needs at least 10, "
                 "with both verdicts (routing.shadow with routing.cascade records them)\n", a.ledger.c_str(), n,
                 n_right);
    return 1;
  }
  const std::vector<std::string> names = SignalNamesFrom(a.signals);
  std::vector<std::vector<double>> rows;
  for (const auto& sig : v->signals) rows.push_back(Row(sig, names));
  auto router = ConfidenceRouter::Fit(names, rows, v->right, v->slm, a.l2);
  if (!router.ok()) {
    std::fprintf(stderr, "%s\n", router.status().message().c_str());
    return 1;
  }
  std::vector<double> recorded;
  std::vector<bool> y;
  for (size_t i = 0; i < n; ++i)
    if (v->recorded[i] >= 0) recorded.push_back(v->recorded[i]), y.push_back(v->right[i] >= 0.5);
  const double before = Auroc(recorded, y);
  const double after = CrossValidatedAuroc(*v, names, a.l2);
  std::printf("verdicts:          %zu on answers of %s (%.1f%% right)\n", n, v->slm.c_str(),
              100 * n_right / static_cast<double>(n));
  if (before == before) std::printf("router in force:   AUROC %.3f on %zu of them\n", before, recorded.size());
  if (after == after) std::printf("refit:             AUROC %.3f (5-fold cross-validated)\n", after);
  if (Status s = router->Save(a.out); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::printf("saved:             %s (routing.cascade.router; reload with SIGHUP)\n", a.out.c_str());
  return 0;
}

}  // namespace tandem
