#include "route/learned_router.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>

#include "route/features.h"

namespace tandem {
namespace {

constexpr char kMagic[8] = {'T', 'N', 'D', 'M', 'L', 'R', '0', '2'};

// Only the start and the end of a long prompt are read: the question and the instruction are there, and the
// cost of a decision stays bounded however long the prompt is.
constexpr size_t kHead = 2048, kTail = 512;

uint64_t Fnv(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Multiplicative hashing: the top `bits` bits of x * golden ratio.
inline uint32_t Slot(uint64_t x, int bits) {
  return static_cast<uint32_t>((x * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// log1p(count) for small counts, precomputed.
const float* Log1pTable() {
  static const std::vector<float> table = [] {
    std::vector<float> t(1024);
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(std::log1p(static_cast<double>(i)));
    return t;
  }();
  return table.data();
}
inline float Log1pCount(uint32_t c) { return c < 1024 ? Log1pTable()[c] : static_cast<float>(std::log1p(c)); }

// ASCII character classes by table (no locale calls on the hot path).
struct CharTable {
  uint8_t lower[256];
  uint8_t cls[256];  // bit 0: alphanumeric, bit 1: digit, bit 2: punctuation
  CharTable() {
    for (int c = 0; c < 256; ++c) {
      lower[c] = static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      const bool digit = c >= '0' && c <= '9';
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const bool punct = c > 32 && c < 127 && !digit && !alpha;
      cls[c] = static_cast<uint8_t>((alpha || digit ? 1 : 0) | (digit ? 2 : 0) | (punct ? 4 : 0));
    }
  }
};
const CharTable& Chars() {
  static const CharTable t;
  return t;
}

// Counts per hashed slot for one prompt: a dense array reused by the thread, and the slots touched (to read
// and clear them). No allocation once warm.
struct Counter {
  int bits = 0;
  std::vector<uint16_t> counts;  // a 4 KiB window cannot put 65,535 features in one slot
  std::vector<uint32_t> touched;
  std::string lower;
  void Reset(int b) {
    if (b != bits) {
      bits = b;
      counts.assign(size_t{1} << b, 0);
    }
    for (uint32_t s : touched) counts[s] = 0;
    touched.clear();
  }
  void Add(uint32_t slot, uint32_t v = 1) {
    if (counts[slot] == 0) touched.push_back(slot);
    counts[slot] = static_cast<uint16_t>(counts[slot] + v);
  }
};

Counter& Count(std::string_view prompt, std::string_view task, int bits) {
  thread_local Counter c;
  c.Reset(bits);
  std::string& lower = c.lower;
  if (prompt.size() <= kHead + kTail) {
    lower.assign(prompt);
  } else {
    lower.assign(prompt.substr(0, kHead));
    lower.push_back('\n');
    lower.append(prompt.substr(prompt.size() - kTail));
  }
  const CharTable& t = Chars();
  for (char& ch : lower) ch = static_cast<char>(t.lower[static_cast<unsigned char>(ch)]);
  // Words and word bigrams.
  uint64_t prev = 0;
  bool have_prev = false;
  size_t i = 0;
  const size_t n = lower.size();
  const unsigned char* b = reinterpret_cast<const unsigned char*>(lower.data());
  while (i < n) {
    while (i < n && !(t.cls[b[i]] & 1)) ++i;
    if (i == n) break;
    uint64_t h = 1469598103934665603ULL ^ 1;  // FNV-1a of the word, as Fnv(word, 1)
    while (i < n && (t.cls[b[i]] & 1)) {
      h ^= b[i++];
      h *= 1099511628211ULL;
    }
    c.Add(Slot(h, bits));
    if (have_prev) c.Add(Slot(prev * 0x100000001B3ULL + h + 0x5bd1e995ULL, bits));
    prev = h;
    have_prev = true;
  }
  // Character 4-grams.
  for (size_t k = 0; k + 4 <= n; ++k) {
    uint32_t x;
    std::memcpy(&x, lower.data() + k, 4);
    c.Add(Slot(x ^ 0xC2B2AE3D27D4EB4FULL, bits));
  }
  // Structure: length (of the whole prompt); digit and symbol density and lines (of the window); the task type.
  int digits = 0, symbols = 0, lines = 1;
  for (size_t k = 0; k < n; ++k) {
    const uint8_t cl = t.cls[b[k]];
    digits += (cl >> 1) & 1;
    symbols += (cl >> 2) & 1;
    lines += b[k] == '\n';
  }
  const double len = std::max<double>(1, static_cast<double>(prompt.size()));
  const double window = std::max<double>(1, static_cast<double>(n));
  auto structure = [&](const std::string& f) { c.Add(Slot(Fnv(f, 4), bits), 2); };
  structure("len" + std::to_string(static_cast<int>(std::log2(len))));
  structure("lines" + std::to_string(std::min(lines, 32) / 4));
  structure("digits" + std::to_string(static_cast<int>(20 * digits / window)));
  structure("symbols" + std::to_string(static_cast<int>(20 * symbols / window)));
  structure("task" + std::string(task));
  return c;
}

}  // namespace

SparseVector LearnedRouter::Featurize(std::string_view prompt, int bits) {
  const Counter& c = Count(prompt, ClassifyTask(prompt), bits);
  SparseVector v;
  v.reserve(c.touched.size());
  double norm = 0;
  for (uint32_t s : c.touched) {
    const float x = Log1pCount(c.counts[s]);
    v.emplace_back(s, x);
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

double LearnedRouter::score(std::string_view prompt) const { return score(prompt, ClassifyTask(prompt)); }

void LinearScores(std::string_view prompt, std::string_view task, int bits, const float* const* weights,
                  const float* biases, size_t heads, double* out) {
  const Counter& c = Count(prompt, task, bits);
  for (size_t h = 0; h < heads; ++h) out[h] = 0;
  double norm = 0;
  for (uint32_t s : c.touched) {
    const float x = Log1pCount(c.counts[s]);
    for (size_t h = 0; h < heads; ++h) out[h] += weights[h][s] * x;
    norm += static_cast<double>(x) * x;
  }
  const double inv = 1 / std::sqrt(std::max(norm, 1e-12));
  for (size_t h = 0; h < heads; ++h) out[h] = biases[h] + out[h] * inv;
}

double LearnedRouter::score(std::string_view prompt, std::string_view task) const {
  const float* w = weights_.data();
  double z = 0;
  LinearScores(prompt, task, bits_, &w, &bias_, 1, &z);
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
