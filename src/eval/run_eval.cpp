#include "eval/run_eval.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include <cmath>
#include <filesystem>
#include <limits>

#include "route/confidence_router.h"
#include "route/learned_router.h"

namespace tandem::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

RouterResult Score(const std::string& name, std::vector<CurvePoint> curve, const Dataset& d,
                   std::vector<double> scores = {}, bool calibrated = false) {
  RouterResult r;
  std::vector<bool> wrong;
  for (double w : d.weak) wrong.push_back(w < 0.5);
  r.auroc = scores.empty() ? kNaN : Auroc(scores, wrong);
  r.ece = kNaN;
  if (calibrated) {
    std::vector<double> p;
    for (double x : scores) p.push_back(1 - x);
    r.ece = CalibrationError(p, d.weak);
  }
  r.name = name;
  r.scores = std::move(scores);
  r.curve = std::move(curve);
  double wa = d.weak_accuracy(), sa = d.strong_accuracy();
  r.metrics = Summarize(r.curve, wa, sa);
  r.pgr20 = PgrAt(r.curve, 20, wa, sa);
  r.pgr50 = PgrAt(r.curve, 50, wa, sa);
  r.pgr80 = PgrAt(r.curve, 80, wa, sa);
  return r;
}

// A recorded signal as scores; "-name" sends low values to the strong model (a confidence).
Result<std::vector<double>> SignalScores(const Dataset& d, std::string name) {
  const bool negate = !name.empty() && name[0] == '-';
  if (negate) name.erase(0, 1);
  auto it = d.signals.find(name);
  if (it == d.signals.end()) {
    std::string known;
    for (const auto& [k, v] : d.signals) known += (known.empty() ? "" : ", ") + k;
    return Status(Code::kInvalidArgument, "router 'signal:" + name + "': the data has no such signal on every line" +
                                              (known.empty() ? std::string(" (it has none)") : " (it has: " + known + ")"));
  }
  std::vector<double> s = it->second;
  if (negate)
    for (double& x : s) x = -x;
  return s;
}

// 1 - P(right) for every prompt, from a confidence router over the data's signals.
Result<std::vector<double>> ConfidenceScores(const Dataset& d, const ConfidenceRouter& r, const std::string& file) {
  if (!d.slm.empty() && !r.slm().empty() && d.slm != r.slm())
    return Status(Code::kInvalidArgument, file + " was trained for " + r.slm() + ", but these are outcomes of " + d.slm);
  for (const auto& n : r.signals())
    if (!d.signals.count(n)) return Status(Code::kInvalidArgument, file + ": the data has no signal '" + n + "'");
  std::vector<double> s;
  for (size_t i = 0; i < d.prompts.size(); ++i) {
    std::vector<double> row;
    for (const auto& n : r.signals()) row.push_back(d.signals.at(n)[i]);
    s.push_back(1 - r.p_right_row(row));
  }
  return s;
}

// The shipped confidence router for the data's SLM: the *.tcr file in `dir` that names it.
Result<std::string> DefaultRouterFile(const Dataset& d, const std::string& dir) {
  if (d.slm.empty())
    return Status(Code::kInvalidArgument, "router 'default': the data does not name its SLM (a 'slm' field, written "
                                          "by tandem outcomes)");
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".tcr") continue;
    auto r = ConfidenceRouter::Load(e.path().string());
    if (r.ok() && r->slm() == d.slm) return e.path().string();
  }
  return Status(Code::kNotFound, "router 'default': no router in " + dir + "/ is trained for " + d.slm);
}

}  // namespace

Result<std::vector<RouterResult>> RunEval(const Dataset& d, const EvalOptions& opt) {
  if (d.prompts.empty()) return Status(Code::kInvalidArgument, "the dataset has no prompts");
  if (d.strong_accuracy() == d.weak_accuracy()) {
    return Status(Code::kInvalidArgument, "weak and strong accuracy are equal: PGR is undefined");
  }
  std::vector<RouterResult> out;
  for (const auto& name : opt.routers) {
    std::vector<double> scores;
    bool calibrated = false;
    if (name == "random") {
      std::mt19937_64 rng(opt.seed);
      std::uniform_real_distribution<double> u(0, 1);
      for (size_t i = 0; i < d.prompts.size(); ++i) scores.push_back(u(rng));
    } else if (name == "length") {
      for (const auto& p : d.prompts) scores.push_back(static_cast<double>(p.size()));
    } else if (name == "scores") {
      if (d.scores.size() != d.prompts.size()) {
        return Status(Code::kInvalidArgument,
                      "router 'scores' needs a 'score' on every line of a JSONL dataset");
      }
      scores = d.scores;
    } else if (name.rfind("model:", 0) == 0) {
      auto model = LearnedRouter::Load(name.substr(6));
      if (!model.ok()) return model.status();
      for (const auto& p : d.prompts) scores.push_back(model->score(p));
    } else if (name.rfind("signal:", 0) == 0) {
      auto s = SignalScores(d, name.substr(7));
      if (!s.ok()) return s.status();
      scores = std::move(s.value());
    } else if (name.rfind("confidence:", 0) == 0 || name == "default") {
      std::string file = name == "default" ? "" : name.substr(11);
      if (file.empty()) {
        auto f = DefaultRouterFile(d, opt.routers_dir);
        if (!f.ok()) return f.status();
        file = f.value();
      }
      auto r = ConfidenceRouter::Load(file);
      if (!r.ok()) return r.status();
      auto s = ConfidenceScores(d, r.value(), file);
      if (!s.ok()) return s.status();
      scores = std::move(s.value());
      calibrated = true;
    } else {
      return Status(Code::kInvalidArgument, "unknown router '" + name +
                                                "' (random, length, scores, model:<file>, signal:[-]<name>, "
                                                "confidence:<file>, default)");
    }
    auto curve = RouteLlmCurve(scores, d.weak, d.strong, opt.bins);
    out.push_back(Score(name, std::move(curve), d, std::move(scores), calibrated));
  }
  for (const auto& [name, scores] : opt.scored) {
    if (scores.size() != d.prompts.size())
      return Status(Code::kInvalidArgument, "router '" + name + "' scored " + std::to_string(scores.size()) +
                                                " of " + std::to_string(d.prompts.size()) + " prompts");
    const bool calibrated = std::find(opt.calibrated.begin(), opt.calibrated.end(), name) != opt.calibrated.end();
    out.push_back(Score(name, RouteLlmCurve(scores, d.weak, d.strong, opt.bins), d, scores, calibrated));
  }
  out.push_back(Score("oracle", OracleCurve(d.weak, d.strong), d));
  return out;
}

Dataset Subset(const Dataset& d, const std::vector<size_t>& rows, std::string name) {
  Dataset p;
  p.name = std::move(name);
  p.weak_model = d.weak_model;
  p.strong_model = d.strong_model;
  p.slm = d.slm;
  for (size_t i : rows) {
    p.prompts.push_back(d.prompts[i]);
    p.weak.push_back(d.weak[i]);
    p.strong.push_back(d.strong[i]);
    if (!d.weak_cost.empty()) {
      p.weak_cost.push_back(d.weak_cost[i]);
      p.strong_cost.push_back(d.strong_cost[i]);
    }
    if (!d.scores.empty()) p.scores.push_back(d.scores[i]);
    if (!d.domains.empty()) p.domains.push_back(d.domains[i]);
  }
  for (const auto& [k, v] : d.signals) {
    std::vector<double>& out = p.signals[k];
    for (size_t i : rows) out.push_back(v[i]);
  }
  return p;
}

std::pair<Dataset, Dataset> Split(const Dataset& d, double train_fraction, unsigned seed) {
  std::vector<size_t> idx(d.prompts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  const size_t cut = static_cast<size_t>(train_fraction * static_cast<double>(idx.size()));
  std::vector<size_t> first(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(cut));
  std::vector<size_t> second(idx.begin() + static_cast<std::ptrdiff_t>(cut), idx.end());
  return {Subset(d, first, d.name + " (train)"), Subset(d, second, d.name + " (held out)")};
}

std::string FormatEval(const Dataset& d, const std::vector<RouterResult>& results) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%s: %zu prompts; weak %s %.2f%%, strong %s %.2f%%\n", d.name.c_str(),
                d.prompts.size(), d.weak_model.c_str(), d.weak_accuracy(), d.strong_model.c_str(),
                d.strong_accuracy());
  out += line;
  if (d.skipped > 0) {
    std::snprintf(line, sizeof line, "(%zu rows without an outcome for both models were left out)\n",
                  d.skipped);
    out += line;
  }
  size_t width = 10;
  for (const auto& r : results) width = std::max(width, std::min<size_t>(r.name.size(), 48));
  std::snprintf(line, sizeof line, "%-*s %8s %8s %8s %8s %9s %9s %9s %7s %6s\n", static_cast<int>(width), "router",
                "APGR", "PGR@20%", "PGR@50%", "PGR@80%", "CPT(20%)", "CPT(50%)", "CPT(80%)", "AUROC", "ECE");
  out += line;
  auto opt_num = [](double v, const char* fmt) {
    char b[32];
    if (std::isnan(v)) return std::string("-");
    std::snprintf(b, sizeof b, fmt, v);
    return std::string(b);
  };
  for (const auto& r : results) {
    std::snprintf(line, sizeof line, "%-*s %8.4f %8.3f %8.3f %8.3f %8.2f%% %8.2f%% %8.2f%% %7s %6s\n",
                  static_cast<int>(width), r.name.c_str(), r.metrics.apgr, r.pgr20, r.pgr50, r.pgr80,
                  r.metrics.cpt20, r.metrics.cpt50, r.metrics.cpt80, opt_num(r.auroc, "%.3f").c_str(),
                  opt_num(r.ece, "%.3f").c_str());
    out += line;
  }
  return out;
}

}  // namespace tandem::eval
