#include "route/confidence_router.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/split.h"

namespace tandem {
namespace {

constexpr const char* kMagic = "tandem-confidence-router 1";

double Sigmoid(double z) { return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z)); }

// Counts are spread on a log scale; everything else is used as it is.
double Shape(const std::string& name, double v) {
  return name == "answer_tokens" || name == "prompt_tokens" ? std::log1p(std::max(0.0, v)) : v;
}

}  // namespace

std::vector<std::string> SignalNamesFrom(const std::string& spec) {
  return spec == "draft" ? DraftSignalNames() : SplitComma(spec);
}

std::map<std::string, double> AnswerSignals(const std::vector<AnswerToken>& tokens) {
  std::map<std::string, double> sig;
  double sum = 0, mn = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    sum += tokens[i].logprob;
    mn = i == 0 ? tokens[i].logprob : std::min(mn, tokens[i].logprob);
  }
  const size_t n = tokens.size();
  sig["answer_tokens"] = static_cast<double>(n);
  sig["mean_logprob"] = n ? sum / static_cast<double>(n) : 0;
  sig["min_logprob"] = mn;
  sig["first_prob"] = n ? std::exp(tokens[0].logprob) : 0;
  double margin = 0;
  if (n && tokens[0].top.size() >= 2)
    margin = std::exp(tokens[0].top[0]) - std::exp(tokens[0].top[1]);
  else if (n)
    margin = std::exp(tokens[0].logprob);
  sig["first_margin"] = margin;
  return sig;
}

std::vector<double> ConfidenceRouter::Transform(std::vector<double> row) const {
  for (size_t j = 0; j < row.size(); ++j) row[j] = (Shape(names_[j], row[j]) - mean_[j]) / scale_[j];
  return row;
}

Result<ConfidenceRouter> ConfidenceRouter::Fit(const std::vector<std::string>& signals,
                                               const std::vector<std::vector<double>>& rows,
                                               const std::vector<double>& right, const std::string& slm, double l2) {
  if (rows.empty() || rows.size() != right.size())
    return Status(Code::kInvalidArgument, "confidence router: no training rows");
  const size_t k = signals.size();
  ConfidenceRouter r;
  r.slm_ = slm;
  r.names_ = signals;
  r.mean_.assign(k, 0);
  r.scale_.assign(k, 0);
  const double n = static_cast<double>(rows.size());
  for (const auto& row : rows) {
    if (row.size() != k) return Status(Code::kInvalidArgument, "confidence router: a row misses signals");
    for (size_t j = 0; j < k; ++j) r.mean_[j] += Shape(signals[j], row[j]) / n;
  }
  for (const auto& row : rows)
    for (size_t j = 0; j < k; ++j) r.scale_[j] += std::pow(Shape(signals[j], row[j]) - r.mean_[j], 2) / n;
  for (double& s : r.scale_) s = s > 1e-12 ? std::sqrt(s) : 1.0;
  std::vector<std::vector<double>> x;
  for (const auto& row : rows) x.push_back(r.Transform(row));
  // Newton's method on the penalised log-likelihood (k + 1 parameters: a few iterations converge).
  r.w_.assign(k, 0);
  double base = 0;
  for (double y : right) base += y / n;
  base = std::min(std::max(base, 1e-3), 1 - 1e-3);
  r.bias_ = std::log(base / (1 - base));
  const size_t d = k + 1;
  for (int iter = 0; iter < 50; ++iter) {
    std::vector<double> g(d, 0), h(d * d, 0);
    for (size_t i = 0; i < x.size(); ++i) {
      double z = r.bias_;
      for (size_t j = 0; j < k; ++j) z += r.w_[j] * x[i][j];
      const double p = Sigmoid(z), e = p - right[i], v = std::max(p * (1 - p), 1e-9);
      for (size_t a = 0; a < d; ++a) {
        const double xa = a < k ? x[i][a] : 1.0;
        g[a] += e * xa;
        for (size_t b = 0; b < d; ++b) h[a * d + b] += v * xa * (b < k ? x[i][b] : 1.0);
      }
    }
    for (size_t j = 0; j < k; ++j) g[j] += l2 * n * r.w_[j], h[j * d + j] += l2 * n;
    // Solve h * step = g (Gaussian elimination with partial pivoting; d is small).
    std::vector<double> step = g;
    for (size_t c = 0; c < d; ++c) {
      size_t piv = c;
      for (size_t rr = c + 1; rr < d; ++rr)
        if (std::fabs(h[rr * d + c]) > std::fabs(h[piv * d + c])) piv = rr;
      if (std::fabs(h[piv * d + c]) < 1e-12) continue;
      for (size_t b = 0; b < d; ++b) std::swap(h[c * d + b], h[piv * d + b]);
      std::swap(step[c], step[piv]);
      for (size_t rr = 0; rr < d; ++rr) {
        if (rr == c) continue;
        const double f = h[rr * d + c] / h[c * d + c];
        for (size_t b = 0; b < d; ++b) h[rr * d + b] -= f * h[c * d + b];
        step[rr] -= f * step[c];
      }
    }
    double moved = 0;
    for (size_t a = 0; a < d; ++a) {
      const double s = std::fabs(h[a * d + a]) > 1e-12 ? step[a] / h[a * d + a] : 0;
      if (a < k) {
        r.w_[a] -= s;
      } else {
        r.bias_ -= s;
      }
      moved = std::max(moved, std::fabs(s));
    }
    if (moved < 1e-8) break;
  }
  return r;
}

double ConfidenceRouter::p_right_row(const std::vector<double>& row) const {
  const std::vector<double> x = Transform(row);
  double z = bias_;
  for (size_t j = 0; j < x.size() && j < w_.size(); ++j) z += w_[j] * x[j];
  return Sigmoid(z);
}

double ConfidenceRouter::p_right(const std::map<std::string, double>& signals) const {
  double z = bias_;
  for (size_t j = 0; j < names_.size(); ++j) {
    auto it = signals.find(names_[j]);
    if (it != signals.end()) z += w_[j] * (Shape(names_[j], it->second) - mean_[j]) / scale_[j];
  }  // a missing signal stands at its training mean: 0 once standardised
  return Sigmoid(z);
}

Status ConfidenceRouter::Save(const std::string& path) const {
  std::ofstream f(path);
  f.precision(17);
  f << kMagic << "\nslm " << slm_ << "\nsignals";
  for (const auto& n : names_) f << ' ' << n;
  auto line = [&](const char* name, const std::vector<double>& v) {
    f << '\n' << name;
    for (double x : v) f << ' ' << x;
  };
  line("mean", mean_);
  line("scale", scale_);
  line("weights", w_);
  f << "\nbias " << bias_ << '\n';
  f.close();
  if (!f) return Status(Code::kInternal, path + ": cannot write");
  return Status::Ok();
}

Result<ConfidenceRouter> ConfidenceRouter::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status(Code::kNotFound, path + ": cannot open");
  std::string line;
  if (!std::getline(f, line) || line != kMagic)
    return Status(Code::kInvalidArgument, path + ":1: not a confidence router (expected '" + kMagic + "')");
  ConfidenceRouter r;
  bool bias = false;
  for (int n = 2; std::getline(f, line); ++n) {
    std::istringstream in(line);
    std::string key;
    in >> key;
    const std::string where = path + ":" + std::to_string(n);
    if (key == "slm") {
      std::getline(in >> std::ws, r.slm_);
    } else if (key == "signals") {
      for (std::string s; in >> s;) r.names_.push_back(s);
    } else if (key == "mean" || key == "scale" || key == "weights") {
      std::vector<double>& v = key == "mean" ? r.mean_ : key == "scale" ? r.scale_ : r.w_;
      for (double x; in >> x;) v.push_back(x);
    } else if (key == "bias") {
      bias = static_cast<bool>(in >> r.bias_);
    } else if (!key.empty()) {
      return Status(Code::kInvalidArgument, where + ": unknown field '" + key + "'");
    }
  }
  const size_t k = r.names_.size();
  if (k == 0 || r.mean_.size() != k || r.scale_.size() != k || r.w_.size() != k || !bias)
    return Status(Code::kInvalidArgument, path + ": truncated: signals, mean, scale, weights and bias must agree");
  for (double s : r.scale_)
    if (!(s > 0)) return Status(Code::kInvalidArgument, path + ": a scale is not positive");
  return r;
}

}  // namespace tandem
