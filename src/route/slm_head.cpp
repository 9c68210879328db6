#include "route/slm_head.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>

namespace tandem {
namespace {

constexpr char kMagic[8] = {'T', 'N', 'D', 'S', 'L', 'M', '0', '1'};

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

SlmHead SlmHead::Train(const std::string& encoder_id, const std::vector<std::vector<float>>& rows,
                       const std::vector<double>& labels, const SlmHeadOptions& opt) {
  SlmHead h;
  h.encoder_id_ = encoder_id;
  const size_t n = rows.size(), d = rows.empty() ? 0 : rows[0].size();
  h.mean_.assign(d, 0);
  h.inv_std_.assign(d, 1);
  h.weights_.assign(d, 0);
  if (n == 0) return h;
  std::vector<double> mean(d, 0), var(d, 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < d; ++i) mean[i] += r[i];
  for (auto& m : mean) m /= static_cast<double>(n);
  for (const auto& r : rows)
    for (size_t i = 0; i < d; ++i) var[i] += (r[i] - mean[i]) * (r[i] - mean[i]);
  for (size_t i = 0; i < d; ++i) {
    h.mean_[i] = static_cast<float>(mean[i]);
    h.inv_std_[i] = static_cast<float>(1.0 / std::sqrt(var[i] / static_cast<double>(n) + 1e-6));
  }
  std::vector<std::vector<float>> x(n, std::vector<float>(d));
  for (size_t j = 0; j < n; ++j)
    for (size_t i = 0; i < d; ++i) x[j][i] = (rows[j][i] - h.mean_[i]) * h.inv_std_[i];
  const double base = std::accumulate(labels.begin(), labels.end(), 0.0) / static_cast<double>(n);
  double bias = std::log(std::max(base, 1e-6) / std::max(1 - base, 1e-6));
  std::vector<double> w(d, 0), g2(d, 1e-8);
  double bias_g2 = 1e-8;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(opt.seed);
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t j : order) {
      double z = bias;
      for (size_t i = 0; i < d; ++i) z += w[i] * x[j][i];
      const double err = Sigmoid(z) - labels[j];
      for (size_t i = 0; i < d; ++i) {
        const double g = err * x[j][i] + opt.l2 * w[i];
        g2[i] += g * g;
        w[i] -= opt.learning_rate * g / std::sqrt(g2[i]);
      }
      bias_g2 += err * err;
      bias -= opt.learning_rate * err / std::sqrt(bias_g2);
    }
  }
  for (size_t i = 0; i < d; ++i) h.weights_[i] = static_cast<float>(w[i]);
  h.bias_ = static_cast<float>(bias);
  return h;
}

double SlmHead::score(const std::vector<float>& pooled) const {
  double z = bias_;
  const size_t d = std::min(pooled.size(), weights_.size());
  for (size_t i = 0; i < d; ++i) z += weights_[i] * (pooled[i] - mean_[i]) * inv_std_[i];
  return Sigmoid(z);
}

Status SlmHead::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status(Code::kInternal, "cannot write " + path);
  out.write(kMagic, sizeof kMagic);
  const uint32_t len = static_cast<uint32_t>(encoder_id_.size()), dim = static_cast<uint32_t>(weights_.size());
  out.write(reinterpret_cast<const char*>(&len), sizeof len);
  out.write(encoder_id_.data(), len);
  out.write(reinterpret_cast<const char*>(&dim), sizeof dim);
  for (const auto* v : {&mean_, &inv_std_, &weights_})
    out.write(reinterpret_cast<const char*>(v->data()), static_cast<std::streamsize>(v->size() * sizeof(float)));
  out.write(reinterpret_cast<const char*>(&bias_), sizeof bias_);
  if (!out) return Status(Code::kInternal, "writing " + path + " failed");
  return Status::Ok();
}

Result<SlmHead> SlmHead::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, path + ": cannot open the router file");
  char magic[8];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    return Status(Code::kInvalidArgument, path + ": not a Tandem SLM-scored router file (bad magic or version)");
  uint32_t len = 0, dim = 0;
  in.read(reinterpret_cast<char*>(&len), sizeof len);
  if (!in || len == 0 || len > 4096) return Status(Code::kInvalidArgument, path + ": bad header");
  SlmHead h;
  h.encoder_id_.resize(len);
  in.read(h.encoder_id_.data(), len);
  in.read(reinterpret_cast<char*>(&dim), sizeof dim);
  if (!in || dim == 0 || dim > (1u << 16)) return Status(Code::kInvalidArgument, path + ": bad header");
  for (auto* v : {&h.mean_, &h.inv_std_, &h.weights_}) {
    v->resize(dim);
    in.read(reinterpret_cast<char*>(v->data()), static_cast<std::streamsize>(dim * sizeof(float)));
  }
  in.read(reinterpret_cast<char*>(&h.bias_), sizeof h.bias_);
  if (!in) return Status(Code::kInvalidArgument, path + ": truncated (expected " + std::to_string(dim) + "-wide head)");
  return h;
}

}  // namespace tandem
