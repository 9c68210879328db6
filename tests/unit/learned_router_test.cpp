#include "route/learned_router.h"

#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "route/scan_simd.h"
#include "simd_levels.h"

namespace tandem {
namespace {

// Prompts about "quantum" topics need the strong model; small talk does not.
void Corpus(std::vector<std::string>& prompts, std::vector<double>& labels) {
  const char* hard[] = {"derive the quantum field propagator", "quantum chromodynamics lattice gauge proof",
                        "prove the quantum adiabatic theorem", "quantum error correction threshold bound"};
  const char* easy[] = {"hello how are you today", "thanks for the help friend", "what a nice sunny day",
                        "say hi to my cat"};
  for (int rep = 0; rep < 25; ++rep) {
    for (const char* h : hard) {
      prompts.push_back(std::string(h) + " #" + std::to_string(rep));
      labels.push_back(1);
    }
    for (const char* e : easy) {
      prompts.push_back(std::string(e) + " #" + std::to_string(rep));
      labels.push_back(0);
    }
  }
}

TEST(LearnedRouter, LearnsSeparableDataAndRoundTripsThroughAFile) {
  std::vector<std::string> prompts;
  std::vector<double> labels;
  Corpus(prompts, labels);
  TrainOptions opt;
  opt.bits = 14;
  LearnedRouter r = LearnedRouter::Train(prompts, labels, opt);
  double hard = r.score("a quantum gauge theorem to prove"), easy = r.score("hello friend, nice day");
  EXPECT_GT(hard, 0.7);
  EXPECT_LT(easy, 0.3);
  auto path = std::filesystem::temp_directory_path() / ("tandem-lr-" + std::to_string(::getpid()) + ".tlr");
  ASSERT_TRUE(r.Save(path.string()).ok());
  auto back = LearnedRouter::Load(path.string());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_DOUBLE_EQ(back->score("a quantum gauge theorem to prove"), hard);
  EXPECT_EQ(back->bits(), 14);

  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  auto truncated = LearnedRouter::Load(path.string());
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos);
  std::ofstream(path) << "not a router";
  auto bad = LearnedRouter::Load(path.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad magic"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(LearnedRouter, FeaturesAreNormalisedAndDeterministic) {
  auto a = LearnedRouter::Featurize("Solve 3x + 5 = 20 for x.", 16);
  auto b = LearnedRouter::Featurize("Solve 3x + 5 = 20 for x.", 16);
  ASSERT_EQ(a, b);
  double norm = 0;
  for (const auto& [k, v] : a) {
    EXPECT_LT(k, 1u << 16);
    norm += v * v;
  }
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_FALSE(LearnedRouter::Featurize("", 16).empty());  // structure features even for an empty prompt
}

LearnedRouter TrainedOnCorpus() {
  std::vector<std::string> prompts;
  std::vector<double> labels;
  Corpus(prompts, labels);
  return LearnedRouter::Train(prompts, labels, TrainOptions{});
}

TEST(LearnedRouter, AFileOfAnotherFeatureSetIsRefusedWithAMessageToRetrain) {
  auto path = std::filesystem::temp_directory_path() / ("tandem-lr-old-" + std::to_string(::getpid()) + ".tlr");
  ASSERT_TRUE(TrainedOnCorpus().Save(path.string()).ok());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6);
    f.write("04", 2);  // the previous format (its features read the first KiB and the last 512 bytes)
  }
  auto old = LearnedRouter::Load(path.string());
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("format 04, this build reads 05"), std::string::npos)
      << old.status().message();
  EXPECT_NE(old.status().message().find("train it again"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(RoutingTargets, AreHalfTheStrongModelsGainPooledTowardItsDomain) {
  // Outcomes: (weak, strong) per prompt.
  const std::vector<double> weak = {1, 0, 1, 0, 1, 0};
  const std::vector<double> strong = {1, 1, 0, 0, 1, 1};
  // No domains: (1 + strong - weak) / 2.
  auto t = RoutingTargets(weak, strong, {}, 0.75);
  EXPECT_EQ(t, (std::vector<double>{0.5, 1.0, 0.0, 0.5, 0.5, 1.0}));
  // Two domains: x (targets 0.5, 1, 0; mean 0.5) and y (0.5, 0.5, 1; mean 2/3).
  const std::vector<std::string> dom = {"x", "x", "x", "y", "y", "y"};
  auto pooled = RoutingTargets(weak, strong, dom, 0.75);
  const std::vector<double> want = {0.5, 0.25 * 1.0 + 0.75 * 0.5, 0.75 * 0.5, 0.25 * 0.5 + 0.75 * 2 / 3,
                                    0.25 * 0.5 + 0.75 * 2 / 3, 0.25 * 1.0 + 0.75 * 2 / 3};
  ASSERT_EQ(pooled.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(pooled[i], want[i], 1e-12) << i;
  // Pooling 1: every prompt of a domain gets its mean; 0: its own outcome.
  auto all = RoutingTargets(weak, strong, dom, 1.0);
  EXPECT_NEAR(all[1], 0.5, 1e-12);
  EXPECT_NEAR(all[5], 2.0 / 3, 1e-12);
  EXPECT_EQ(RoutingTargets(weak, strong, dom, 0.0), t);
  // Graded qualities stay in [0, 1]; a domain list of the wrong length is ignored rather than misread.
  auto graded = RoutingTargets({0.2}, {0.9}, {}, 0);
  EXPECT_NEAR(graded[0], 0.85, 1e-12);
  EXPECT_EQ(RoutingTargets(weak, strong, {"x"}, 0.75), t);
}

TEST(RoutingTargets, TheRouterLearnsEachDomainsGainFromItsWords) {
  // Two domains told apart by their words; within each, outcomes are coin flips whose mean differs (0.8 vs 0.2
  // strong-model wins). Pooled targets make the domain's mean the thing to learn.
  std::vector<std::string> prompts, dom;
  std::vector<double> weak, strong;
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    const bool law = i % 2 == 0;
    prompts.push_back(std::string(law ? "statute tort plaintiff appeal " : "hello weather lunch friend ") +
                      std::to_string(rng() % 1000));
    dom.push_back(law ? "law" : "chat");
    const bool gain = std::uniform_real_distribution<>(0, 1)(rng) < (law ? 0.8 : 0.2);
    weak.push_back(gain ? 0 : 1);
    strong.push_back(1);
  }
  TrainOptions opt;
  opt.epochs = 20;
  LearnedRouter r = LearnedRouter::Train(prompts, RoutingTargets(weak, strong, dom, 0.75), opt);
  const double law = r.score("statute tort plaintiff appeal 1234"), chat = r.score("hello weather lunch friend 1234");
  EXPECT_NEAR(law, 0.9, 0.06);   // the domain's mean target: 0.5 + 0.8 / 2
  EXPECT_NEAR(chat, 0.6, 0.06);  // 0.5 + 0.2 / 2
}

// Random prompts of every length around the 64-byte mask blocks and the 769-byte window.
std::string RandomPrompt(std::mt19937& rng) {
  static const char* kPieces[] = {"quantum", "Hello", "a", "I", "theorem", "supercalifragilisticexpialidocious",
                                  "42", "x^2", " ", "  ", "\n", ", ", "...", "\xc3\xa9t\xc3\xa9", "don't", "C++"};
  std::string p;
  const size_t target = rng() % 2 ? rng() % 200 : rng() % 4000;
  while (p.size() < target) p += kPieces[rng() % (sizeof kPieces / sizeof *kPieces)];
  return p;
}

TEST(LearnedRouter, ScoresAreTheSameAtEverySimdLevel) {
  const LearnedRouter r = TrainedOnCorpus();
  std::mt19937 rng(5);
  std::vector<std::string> prompts;
  std::vector<double> scores;
  std::vector<SparseVector> features;
  for (int i = 0; i < 300; ++i) prompts.push_back(RandomPrompt(rng));
  ForEachSimdLevel([&](route_simd::Level level) {
    if (level == route_simd::Level::kScalar) {  // the first: the portable loops give the expected values
      for (const std::string& p : prompts) {
        scores.push_back(r.score(p));
        features.push_back(LearnedRouter::Featurize(p, 14));
      }
      return;
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      ASSERT_EQ(r.score(prompts[i]), scores[i]) << prompts[i].size() << " bytes: [" << prompts[i] << "]";
      ASSERT_EQ(LearnedRouter::Featurize(prompts[i], 14), features[i]);
    }
  });
}

TEST(LearnedRouter, CountsPast255AreExact) {
  // 700 'a's: one word (count 1), the 4-gram "aaaa" 697 times (past what a byte counter holds), and the five
  // structure features (count 2 each). Log-scaled, the largest value over the smallest is log1p(697) / log1p(1).
  const std::string many(700, 'a');
  const auto v = LearnedRouter::Featurize(many, 18);
  ASSERT_GE(v.size(), 3u);
  float lo = v[0].second, hi = v[0].second;
  for (const auto& [slot, x] : v) lo = std::min(lo, x), hi = std::max(hi, x);
  EXPECT_NEAR(hi / lo, std::log1p(697.0) / std::log1p(1.0), 1e-4);
  // The counters are left clean: the same prompt again, and a plain one after it, featurize as before.
  const std::string plain = "derive the quantum field theorem";
  const auto plain_before = LearnedRouter::Featurize(plain, 18);
  EXPECT_EQ(LearnedRouter::Featurize(many, 18), v);
  EXPECT_EQ(LearnedRouter::Featurize(plain, 18), plain_before);
  const LearnedRouter r = TrainedOnCorpus();
  const double s1 = r.score(many);
  EXPECT_EQ(r.score(many), s1);
  EXPECT_GT(s1, 0.0);
  EXPECT_LT(s1, 1.0);
}

TEST(LearnedRouter, ReadsTheFirst512AndTheLast256BytesInAnyCase) {
  const LearnedRouter r = TrainedOnCorpus();
  EXPECT_EQ(r.score("PROVE the Quantum theorem"), r.score("prove the quantum THEOREM"));
  std::string head(512, 'h'), middle(3000, 'm'), tail(256, 't');
  head.replace(0, 32, "derive the quantum field theorem");
  const std::string p = head + middle + tail;
  auto with = [&](size_t at, char c) {
    std::string q = p;
    q[at] = c;
    return LearnedRouter::Featurize(q, 14);
  };
  const auto base = LearnedRouter::Featurize(p, 14);
  // Outside the window (bytes 512 .. size - 257): the same features, at the edges too.
  EXPECT_EQ(with(512, 'X'), base);
  EXPECT_EQ(with(2000, 'X'), base);
  EXPECT_EQ(with(p.size() - 257, '!'), base);
  // Inside: different.
  EXPECT_NE(with(511, 'X'), base);
  EXPECT_NE(with(5, 'X'), base);
  EXPECT_NE(with(p.size() - 256, '!'), base);
  EXPECT_NE(with(p.size() - 5, '!'), base);
  // A prompt of at most 768 bytes is read whole.
  const std::string short_p = p.substr(0, 768);
  std::string changed = short_p;
  changed[600] = 'X';
  EXPECT_NE(LearnedRouter::Featurize(short_p, 14), LearnedRouter::Featurize(changed, 14));
}

}  // namespace
}  // namespace tandem
