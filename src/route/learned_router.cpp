#include "route/learned_router.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <unordered_map>

#include "route/features.h"

namespace tandem {
namespace {

constexpr char kMagic[8] = {'T', 'N', 'D', 'M', 'L', 'R', '0', '1'};

uint64_t Fnv(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

SparseVector LearnedRouter::Featurize(std::string_view prompt, int bits) {
  const uint32_t mask = (1u << bits) - 1;
  std::unordered_map<uint32_t, float> counts;
  auto add = [&](std::string_view feature, uint64_t kind, float v = 1) {
    counts[static_cast<uint32_t>(Fnv(feature, kind)) & mask] += v;
  };
  std::string lower(prompt.substr(0, 16384));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Words and word bigrams.
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < lower.size()) {
    while (i < lower.size() && !std::isalnum(static_cast<unsigned char>(lower[i]))) ++i;
    size_t start = i;
    while (i < lower.size() && std::isalnum(static_cast<unsigned char>(lower[i]))) ++i;
    if (i > start) words.emplace_back(lower.data() + start, i - start);
  }
  for (size_t w = 0; w < words.size(); ++w) {
    add(words[w], 1);
    if (w + 1 < words.size()) {
      std::string bigram(words[w]);
      bigram.push_back(' ');
      bigram.append(words[w + 1]);
      add(bigram, 2);
    }
  }
  // Character 4-grams.
  for (size_t c = 0; c + 4 <= lower.size(); ++c) add(std::string_view(lower).substr(c, 4), 3);
  // Structure: length, digits, symbols, lines; the heuristic task type.
  int digits = 0, symbols = 0, lines = 1;
  for (char c : prompt) {
    digits += std::isdigit(static_cast<unsigned char>(c)) != 0;
    symbols += std::ispunct(static_cast<unsigned char>(c)) != 0;
    lines += c == '\n';
  }
  const double n = std::max<double>(1, static_cast<double>(prompt.size()));
  add("len" + std::to_string(static_cast<int>(std::log2(n))), 4, 2);
  add("lines" + std::to_string(std::min(lines, 32) / 4), 4, 2);
  add("digits" + std::to_string(static_cast<int>(20 * digits / n)), 4, 2);
  add("symbols" + std::to_string(static_cast<int>(20 * symbols / n)), 4, 2);
  add("task" + ClassifyTask(prompt), 4, 2);
  SparseVector v;
  v.reserve(counts.size());
  double norm = 0;
  for (const auto& [k, c] : counts) {
    float x = std::log1p(c);
    v.emplace_back(k, x);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(std::max(norm, 1e-12));
  for (auto& [k, x] : v) x = static_cast<float>(x / norm);
  std::sort(v.begin(), v.end());
  return v;
}

double FitLogistic(const std::vector<SparseVector>& xs, const std::vector<double>& labels, const TrainOptions& opt,
                   std::vector<float>* weights) {
  weights->assign(size_t{1} << opt.bits, 0.0f);
  std::vector<float>& w = *weights;
  const double mean =
      labels.empty() ? 0.5 : std::accumulate(labels.begin(), labels.end(), 0.0) / labels.size();
  double bias = std::log(std::max(mean, 1e-6) / std::max(1 - mean, 1e-6));
  std::vector<double> g2(w.size(), 1e-8);
  double bias_g2 = 1e-8;
  std::vector<size_t> order(xs.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(opt.seed);
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t idx : order) {
      const SparseVector& x = xs[idx];
      double z = bias;
      for (const auto& [k, v] : x) z += w[k] * v;
      double err = Sigmoid(z) - labels[idx];  // gradient of the log loss
      for (const auto& [k, v] : x) {
        double g = err * v + opt.l2 * w[k];
        g2[k] += g * g;
        w[k] -= static_cast<float>(opt.learning_rate * g / std::sqrt(g2[k]));
      }
      bias_g2 += err * err;
      bias -= opt.learning_rate * err / std::sqrt(bias_g2);
    }
  }
  return bias;
}

LearnedRouter LearnedRouter::Train(const std::vector<std::string>& prompts, const std::vector<double>& labels,
                                   const TrainOptions& opt) {
  LearnedRouter r;
  r.bits_ = opt.bits;
  std::vector<SparseVector> xs;
  xs.reserve(prompts.size());
  for (const auto& p : prompts) xs.push_back(Featurize(p, opt.bits));
  r.bias_ = static_cast<float>(FitLogistic(xs, labels, opt, &r.weights_));
  return r;
}

double LearnedRouter::score(std::string_view prompt) const {
  double z = bias_;
  for (const auto& [k, v] : Featurize(prompt, bits_)) z += weights_[k] * v;
  return Sigmoid(z);
}

Status LearnedRouter::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status(Code::kInternal, "cannot write " + path);
  int32_t bits = bits_;
  out.write(kMagic, sizeof kMagic);
  out.write(reinterpret_cast<const char*>(&bits), sizeof bits);
  out.write(reinterpret_cast<const char*>(&bias_), sizeof bias_);
  out.write(reinterpret_cast<const char*>(weights_.data()),
            static_cast<std::streamsize>(weights_.size() * 4));
  if (!out) return Status(Code::kInternal, "writing " + path + " failed");
  return Status::Ok();
}

Result<LearnedRouter> LearnedRouter::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, path + ": cannot open the router file");
  char magic[8];
  int32_t bits = 0;
  LearnedRouter r;
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
    return Status(Code::kInvalidArgument, path + ": not a Tandem router file (bad magic or version)");
  }
  in.read(reinterpret_cast<char*>(&bits), sizeof bits);
  in.read(reinterpret_cast<char*>(&r.bias_), sizeof r.bias_);
  if (!in || bits < 8 || bits > 26) return Status(Code::kInvalidArgument, path + ": bad header");
  r.bits_ = bits;
  r.weights_.resize(size_t{1} << bits);
  in.read(reinterpret_cast<char*>(r.weights_.data()), static_cast<std::streamsize>(r.weights_.size() * 4));
  if (in.gcount() != static_cast<std::streamsize>(r.weights_.size() * 4)) {
    return Status(Code::kInvalidArgument, path + ": truncated (expected " +
                                              std::to_string(r.weights_.size() * 4) + " bytes of weights)");
  }
  return r;
}

}  // namespace tandem
