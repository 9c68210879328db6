#include "route/multi_router.h"

#include "route/features.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>

namespace tandem {
namespace {

constexpr char kMagic[8] = {'T', 'N', 'D', 'M', 'M', 'R', '0', '3'};  // 03: learned_router's features 04
constexpr uint32_t kMaxModels = 256;

template <typename T>
void Put(std::ofstream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
bool Get(std::ifstream& in, T* v) {
  in.read(reinterpret_cast<char*>(v), sizeof *v);
  return static_cast<bool>(in);
}

}  // namespace

MultiRouter MultiRouter::Train(const std::vector<std::string>& prompts, const std::vector<std::string>& models,
                               const std::vector<std::vector<double>>& quality,
                               const std::vector<std::vector<double>>& cost, const TrainOptions& opt) {
  MultiRouter r;
  r.bits_ = opt.bits;
  r.models_ = models;
  const size_t k = models.size();
  std::vector<SparseVector> xs;
  xs.reserve(prompts.size());
  for (const auto& p : prompts) xs.push_back(LearnedRouter::Featurize(p, opt.bits));
  r.mean_cost_.assign(k, 1.0);
  if (!cost.empty() && !prompts.empty()) {
    for (size_t m = 0; m < k; ++m) {
      double sum = 0;
      for (const auto& row : cost) sum += row[m];
      r.mean_cost_[m] = sum / static_cast<double>(cost.size());
    }
  }
  r.bias_.resize(k);
  r.weights_.resize(k);
  std::vector<double> labels(prompts.size());
  for (size_t m = 0; m < k; ++m) {
    for (size_t i = 0; i < prompts.size(); ++i) labels[i] = quality[i][m];
    r.bias_[m] = static_cast<float>(FitLogistic(xs, labels, opt, &r.weights_[m]));
  }
  return r;
}

std::vector<double> MultiRouter::Predict(std::string_view prompt) const { return Predict(prompt, ClassifyTask(prompt)); }

std::vector<double> MultiRouter::Predict(std::string_view prompt, std::string_view task) const {
  std::vector<const float*> heads(models_.size());
  for (size_t m = 0; m < heads.size(); ++m) heads[m] = weights_[m].data();
  std::vector<double> p(models_.size());
  LinearScores(prompt, task, bits_, heads.data(), bias_.data(), heads.size(), p.data());
  for (double& z : p) z = 1.0 / (1.0 + std::exp(-z));
  return p;
}

int MultiRouter::Choose(const std::vector<double>& p, const std::vector<double>& cost, double lambda) {
  double max_cost = 0;
  for (double c : cost) max_cost = std::max(max_cost, c);
  int best = -1;
  double best_u = 0;
  for (size_t m = 0; m < p.size(); ++m) {
    if (cost[m] < 0) continue;
    double u = p[m] - (max_cost > 0 ? lambda * cost[m] / max_cost : 0);
    // Ties go to the cheaper model.
    if (best < 0 || u > best_u || (u == best_u && cost[m] < cost[static_cast<size_t>(best)])) {
      best = static_cast<int>(m);
      best_u = u;
    }
  }
  return best;
}

int MultiRouter::ChooseWithinBudget(const std::vector<double>& p, const std::vector<double>& cost, double budget) {
  int best = -1, cheapest = -1;
  for (size_t m = 0; m < p.size(); ++m) {
    if (cost[m] < 0) continue;
    if (cheapest < 0 || cost[m] < cost[static_cast<size_t>(cheapest)]) cheapest = static_cast<int>(m);
    if (cost[m] > budget) continue;
    if (best < 0 || p[m] > p[static_cast<size_t>(best)]) best = static_cast<int>(m);
  }
  return best >= 0 ? best : cheapest;
}

Status MultiRouter::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status(Code::kInternal, "cannot write " + path);
  out.write(kMagic, sizeof kMagic);
  Put(out, static_cast<int32_t>(bits_));
  Put(out, static_cast<uint32_t>(models_.size()));
  for (size_t m = 0; m < models_.size(); ++m) {
    Put(out, static_cast<uint32_t>(models_[m].size()));
    out.write(models_[m].data(), static_cast<std::streamsize>(models_[m].size()));
    Put(out, mean_cost_[m]);
    Put(out, bias_[m]);
    out.write(reinterpret_cast<const char*>(weights_[m].data()),
              static_cast<std::streamsize>(weights_[m].size() * sizeof(float)));
  }
  if (!out) return Status(Code::kInternal, "writing " + path + " failed");
  return Status::Ok();
}

Result<MultiRouter> MultiRouter::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, path + ": cannot open the router file");
  char magic[8];
  in.read(magic, sizeof magic);
  if (Status st = CheckRouterMagic(in ? magic : "", kMagic, "multi-model router", path); !st.ok()) return st;
  int32_t bits = 0;
  uint32_t k = 0;
  if (!Get(in, &bits) || !Get(in, &k) || bits < 8 || bits > 24 || k < 2 || k > kMaxModels)
    return Status(Code::kInvalidArgument, path + ": bad header");
  MultiRouter r;
  r.bits_ = bits;
  const size_t dim = size_t{1} << bits;
  for (uint32_t m = 0; m < k; ++m) {
    uint32_t len = 0;
    double cost = 0;
    float bias = 0;
    if (!Get(in, &len) || len == 0 || len > 512) return Status(Code::kInvalidArgument, path + ": truncated or bad model name");
    std::string name(len, '\0');
    in.read(name.data(), len);
    if (!in || !Get(in, &cost) || !Get(in, &bias) || !std::isfinite(cost) || cost < 0)
      return Status(Code::kInvalidArgument, path + ": truncated (model " + std::to_string(m) + ")");
    std::vector<float> w(dim);
    in.read(reinterpret_cast<char*>(w.data()), static_cast<std::streamsize>(dim * sizeof(float)));
    if (in.gcount() != static_cast<std::streamsize>(dim * sizeof(float)))
      return Status(Code::kInvalidArgument, path + ": truncated (weights of model '" + name + "')");
    r.models_.push_back(std::move(name));
    r.mean_cost_.push_back(cost);
    r.bias_.push_back(bias);
    r.weights_.push_back(std::move(w));
  }
  return r;
}

}  // namespace tandem
