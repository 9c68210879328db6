#include "route/learned_router.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <unordered_map>

#include "route/features.h"
#include "route/scan_simd.h"

namespace tandem {
namespace {

constexpr char kMagic[8] = {'T', 'N', 'D', 'M', 'L', 'R', '0', '5'};

// The part of a prompt the router reads: its first kRouterHead and last kRouterTail bytes (LowerWindow). Half
// the task type's window: on MMLU half splits the same APGR (0.672 vs 0.673, six seeds) and CPT(50%) (27.2% vs
// 27.4%) as 1,024 + 512, at half the features, which is what a 2,000-token decision spends its time on.
constexpr size_t kRouterHead = 512, kRouterTail = 256;


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

// log1p(count), precomputed for every count a window can reach (each of its bytes adds at most two features).
constexpr uint32_t kLog1pTableSize = 4096;
const float* Log1pTable() {
  static const std::vector<float> table = [] {
    std::vector<float> t(kLog1pTableSize);
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(std::log1p(static_cast<double>(i)));
    return t;
  }();
  return table.data();
}
inline float Log1pCount(uint32_t c) { return c < kLog1pTableSize ? Log1pTable()[c] : static_cast<float>(std::log1p(c)); }

// Counts per hashed slot for one prompt: a dense array reused by the thread, and every slot added, repeats
// included (to read and clear them: a slot's second visit reads 0, and log1p(0) adds nothing). No allocation
// once warm, and no branch or dependency per feature: a "first time in this slot?" test either mispredicts or
// makes each add wait for the previous one's load. The counts are bytes, so that they and the weights fit in a
// core's L2 together (256 KiB + 512 KiB with 2^18 slots; bench/route's prompts in turn). A count that passes
// 255 (a window repeating one word or 4-gram hundreds of times) sets `wrapped`; Drain then takes the exact
// counts from `touched`, sorted.
struct Counter {
  int bits = 0;
  std::vector<uint8_t> counts;
  std::vector<uint32_t> touched;  // one entry per occurrence
  size_t n_touched = 0;
  bool wrapped = false;
  std::string lower;            // the window, lower-cased, then 8 zero bytes
  std::vector<uint8_t> alnum;   // 1 where lower[i] is an ASCII letter or digit
  std::vector<uint32_t> sorted;  // Drain's exact path
  void Reset(int b, size_t max_features) {
    if (b != bits) {
      bits = b;
      counts.assign(size_t{1} << b, 0);
      n_touched = 0;
    }
    for (size_t i = 0; i < n_touched; ++i) counts[touched[i]] = 0;  // normally drained already
    n_touched = 0;
    wrapped = false;
    if (touched.size() < max_features) touched.resize(max_features);
  }
  void Add(uint32_t slot) {
    touched[n_touched++] = slot;
    wrapped |= ++counts[slot] == 0;
  }
  // Calls f(slot, count) once for every slot touched and clears the counts: in first-touch order, or in slot
  // order when a count wrapped.
  template <class F>
  void Drain(F&& f) {
    if (wrapped) {
      sorted.assign(touched.begin(), touched.begin() + static_cast<std::ptrdiff_t>(n_touched));
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0, j = 0; i < sorted.size(); i = j) {
        while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
        f(sorted[i], static_cast<uint32_t>(j - i));
      }
      for (size_t i = 0; i < n_touched; ++i) counts[touched[i]] = 0;
    } else {
      for (size_t i = 0; i < n_touched; ++i) {
        const uint32_t s = touched[i];
        if (counts[s] != 0) f(s, counts[s]);
        counts[s] = 0;
      }
    }
    n_touched = 0;
    wrapped = false;
  }
};

// A word's hash: its bytes eight at a time (the window is padded, so the last load stays inside it).
inline uint64_t WordHash(const char* p, size_t len) {
  uint64_t h = 0x51ED27C3A9B1F00DULL ^ len;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t x;
    std::memcpy(&x, p + i, 8);
    if (len - i < 8) x &= (uint64_t{1} << (8 * (len - i))) - 1;
    h = (h ^ x) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  return h;
}

// Eight 0/1 bytes to eight bits (byte i to bit i).
inline uint64_t PackFlags(const uint8_t* f) {
  uint64_t x;
  std::memcpy(&x, f, 8);
  return ((x & 0x0101010101010101ULL) * 0x0102040810204080ULL) >> 56;
}

// The window's features, counted. Every loop over its bytes is branch-free and vectorizes (letter and digit
// classes, densities); words are found from a bit mask of the alphanumeric bytes, a step per word.
Counter& Count(std::string_view prompt, std::string_view task, int bits) {
  thread_local Counter c;
  std::string& lower = c.lower;
  const size_t n = LowerWindow(prompt, 8, &lower, kRouterHead, kRouterTail);
  c.Reset(bits, 2 * n + 16);  // 4-grams, words and bigrams, structure (5 features, twice each)
  static_assert(2 * (kRouterHead + 1 + kRouterTail) + 8 + 2 * 5 < kLog1pTableSize,
                "a count can outgrow the log1p table");
  auto* b = reinterpret_cast<uint8_t*>(lower.data());
  const size_t padded = (n / 64 + 1) * 64;  // at least one non-alphanumeric byte after the window ends a word
  if (c.alnum.size() < padded + 8) c.alnum.resize(padded + 8);
  uint8_t* alnum = c.alnum.data();
  int digits = 0, symbols = 0, lines = 1;
  for (size_t k = 0; k < n; ++k) {
    const uint8_t x = b[k];  // already lower-cased
    const bool letter = static_cast<uint8_t>(x - 'a') < 26;
    const bool digit = static_cast<uint8_t>(x - '0') < 10;
    alnum[k] = letter | digit;
    digits += digit;
    symbols += x > 32 && x < 127 && !letter && !digit;
    lines += x == '\n';
  }
  std::memset(alnum + n, 0, padded + 8 - n);

  uint8_t* counts = c.counts.data();
  uint32_t* touched = c.touched.data();
  uint8_t zero = 1;  // 0 once a count has wrapped
  auto add = [&](uint32_t slot) {
    *touched++ = slot;
    zero &= ++counts[slot] != 0;
  };
  // Words (maximal alphanumeric runs) and word bigrams: runs start and end where the mask changes.
  uint64_t prev_word = 0, carry = 0;
  bool have_prev = false;
  size_t start = 0;
  for (size_t base = 0; base < padded; base += 64) {
    uint64_t m = 0;
    for (int j = 0; j < 8; ++j) m |= PackFlags(alnum + base + 8 * j) << (8 * j);
    uint64_t edges = m ^ ((m << 1) | carry);  // bit i: byte i differs from byte i-1
    carry = m >> 63;
    while (edges) {
      const size_t i = base + static_cast<size_t>(__builtin_ctzll(edges));
      edges &= edges - 1;
      if (alnum[i]) {
        start = i;
        continue;
      }
      const uint64_t h = WordHash(lower.data() + start, i - start);
      add(Slot(h, bits));
      if (have_prev) add(Slot(prev_word * 0x100000001B3ULL + h + 0x5bd1e995ULL, bits));
      prev_word = h;
      have_prev = true;
    }
  }
  // Character 4-grams (32-bit multiplicative hashing): their slots, 16 or 8 at a time with SIMD, then their counts.
  const size_t grams = n >= 4 ? n - 3 : 0;
  const uint32_t shift = 32 - static_cast<uint32_t>(bits);
  size_t k = route_simd::FourGramSlots(b, grams, shift, touched);
  for (; k < grams; ++k) {
    uint32_t x;
    std::memcpy(&x, b + k, 4);
    touched[k] = ((x ^ 0x27D4EB4Fu) * 0x9E3779B1u) >> shift;
  }
  for (k = 0; k < grams; ++k) zero &= ++counts[touched[k]] != 0;
  touched += grams;
  c.n_touched = static_cast<size_t>(touched - c.touched.data());
  c.wrapped = !zero;
  // Structure: length (of the whole prompt); digit and symbol density and lines (of the window); the task type.
  const double len = std::max<double>(1, static_cast<double>(prompt.size()));
  const double window = std::max<double>(1, static_cast<double>(n));
  char name[48];
  auto structure = [&](std::string_view kind, long value) {  // the feature "<kind><value>", e.g. "lines3"
    std::memcpy(name, kind.data(), kind.size());
    const char* end = std::to_chars(name + kind.size(), name + sizeof name, value).ptr;
    const uint32_t slot = Slot(Fnv(std::string_view(name, static_cast<size_t>(end - name)), 4), bits);
    c.Add(slot);  // counted twice: structure weighs as two occurrences
    c.Add(slot);
  };
  structure("len", static_cast<long>(std::log2(len)));
  structure("lines", std::min(lines, 32) / 4);
  structure("digits", static_cast<long>(20 * digits / window));
  structure("symbols", static_cast<long>(20 * symbols / window));
  std::string task_name = "task";
  task_name.append(task);
  const uint32_t task_slot = Slot(Fnv(task_name, 4), bits);
  c.Add(task_slot);
  c.Add(task_slot);
  return c;
}

}  // namespace

SparseVector LearnedRouter::Featurize(std::string_view prompt, int bits) {
  Counter& c = Count(prompt, ClassifyTask(prompt), bits);
  SparseVector v;
  v.reserve(c.n_touched);
  double norm = 0;
  c.Drain([&](uint32_t s, uint32_t count) {
    const float x = Log1pCount(count);
    v.emplace_back(s, x);
    norm += static_cast<double>(x) * x;
  });
  norm = std::sqrt(std::max(norm, 1e-12));
  for (auto& [k, x] : v) x = static_cast<float>(x / norm);
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<double> RoutingTargets(const std::vector<double>& weak, const std::vector<double>& strong,
                                   const std::vector<std::string>& domains, double pooling) {
  std::vector<double> t(weak.size());
  for (size_t i = 0; i < t.size(); ++i) t[i] = std::clamp((1 + strong[i] - weak[i]) / 2, 0.0, 1.0);
  if (domains.size() != t.size() || pooling <= 0) return t;
  std::unordered_map<std::string, std::pair<double, size_t>> sums;
  for (size_t i = 0; i < t.size(); ++i) {
    auto& [sum, n] = sums[domains[i]];
    sum += t[i];
    ++n;
  }
  std::vector<double> out(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const auto& [sum, n] = sums[domains[i]];
    out[i] = (1 - pooling) * t[i] + pooling * sum / static_cast<double>(n);
  }
  return out;
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
  r.Pack();
  return r;
}

double LearnedRouter::score(std::string_view prompt) const { return score(prompt, ClassifyTask(prompt)); }

namespace {

// Weights are read as bfloat16: the top half of a float32, rounded to nearest even when packed.
uint16_t FloatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  x += 0x7FFF + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}
inline float Bf16ToFloat(uint16_t h) {
  const uint32_t x = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// Sets *dot to sum of w[slot] * log1p(count) over the counted slots and *norm to the squared norm of those
// log counts, and clears the counts. Two partial sums, so the adds do not wait on each other; a slot's
// repeats read 0 once it is cleared and add log1p(0) = 0.
void DotCounts(Counter& c, const uint16_t* w, double* dot, double* norm) {
  if (c.wrapped) {
    double z = 0, q = 0;
    c.Drain([&](uint32_t s, uint32_t count) {
      const float x = Log1pCount(count);
      z += static_cast<double>(Bf16ToFloat(w[s]) * x);
      q += static_cast<double>(x) * x;
    });
    *dot = z, *norm = q;
    return;
  }
  const float* log1p = Log1pTable();
  const uint32_t* touched = c.touched.data();
  uint8_t* counts = c.counts.data();
  const size_t n = c.n_touched;
  float z0 = 0, z1 = 0, q0 = 0, q1 = 0;
  auto term = [&](uint32_t s, float& z, float& q) {
    const float x = log1p[counts[s]];
    counts[s] = 0;
    z += Bf16ToFloat(w[s]) * x;
    q += x * x;
  };
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    term(touched[i], z0, q0);
    term(touched[i + 1], z1, q1);
  }
  if (i < n) term(touched[i], z0, q0);
  c.n_touched = 0;
  *dot = static_cast<double>(z0 + z1);
  *norm = static_cast<double>(q0 + q1);
}

}  // namespace

void LinearScores(std::string_view prompt, std::string_view task, int bits, const float* const* weights,
                  const float* biases, size_t heads, double* out) {
  Counter& c = Count(prompt, task, bits);
  for (size_t h = 0; h < heads; ++h) out[h] = 0;
  double norm = 0;
  c.Drain([&](uint32_t s, uint32_t count) {
    const float x = Log1pCount(count);
    for (size_t h = 0; h < heads; ++h) out[h] += weights[h][s] * x;
    norm += static_cast<double>(x) * x;
  });
  const double inv = 1 / std::sqrt(std::max(norm, 1e-12));
  for (size_t h = 0; h < heads; ++h) out[h] = biases[h] + out[h] * inv;
}

double LearnedRouter::score(std::string_view prompt, std::string_view task) const {
  Counter& c = Count(prompt, task, bits_);
  double z = 0, norm = 0;
  DotCounts(c, packed_.data(), &z, &norm);
  return Sigmoid(bias_ + z / std::sqrt(std::max(norm, 1e-12)));
}

void LearnedRouter::Pack() {
  packed_.resize(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) packed_[i] = FloatToBf16(weights_[i]);
}

Status CheckRouterMagic(const char* magic, const char* expected, const char* what, const std::string& path) {
  if (std::strncmp(magic, expected, 6) != 0) {
    return Status(Code::kInvalidArgument, path + ": not a Tandem " + what + " file (bad magic)");
  }
  if (std::memcmp(magic, expected, 8) != 0) {
    return Status(Code::kInvalidArgument, path + ": made by another version of tandem train (format " +
                                              std::string(magic + 6, 2) + ", this build reads " +
                                              std::string(expected + 6, 2) + "); train it again");
  }
  return Status::Ok();
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
  if (Status st = CheckRouterMagic(in ? magic : "", kMagic, "router", path); !st.ok()) return st;
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
  r.Pack();
  return r;
}

}  // namespace tandem
