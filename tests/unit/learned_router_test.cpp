#include "route/learned_router.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "route/scan_avx2.h"

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
    f.write("03", 2);  // the previous format (its scores meant p(strong needed))
  }
  auto old = LearnedRouter::Load(path.string());
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("format 03, this build reads 04"), std::string::npos)
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

// Random prompts of every length around the 64-byte mask blocks and the 1,537-byte window.
std::string RandomPrompt(std::mt19937& rng) {
  static const char* kPieces[] = {"quantum", "Hello", "a", "I", "theorem", "supercalifragilisticexpialidocious",
                                  "42", "x^2", " ", "  ", "\n", ", ", "...", "\xc3\xa9t\xc3\xa9", "don't", "C++"};
  std::string p;
  const size_t target = rng() % 2 ? rng() % 200 : rng() % 4000;
  while (p.size() < target) p += kPieces[rng() % (sizeof kPieces / sizeof *kPieces)];
  return p;
}

TEST(LearnedRouter, ScoresAreTheSameWithAndWithoutAvx2) {
  const LearnedRouter r = TrainedOnCorpus();
  std::mt19937 rng(5);
  for (int i = 0; i < 300; ++i) {
    const std::string p = RandomPrompt(rng);
    const double simd = r.score(p);
    route_avx2::ForceScalar(true);
    const double scalar = r.score(p);
    const auto fs = LearnedRouter::Featurize(p, 14);
    route_avx2::ForceScalar(false);
    ASSERT_EQ(simd, scalar) << p.size() << " bytes: [" << p << "]";
    ASSERT_EQ(LearnedRouter::Featurize(p, 14), fs);
  }
}

TEST(LearnedRouter, ReadsTheFirstKibAndTheLast512BytesInAnyCase) {
  const LearnedRouter r = TrainedOnCorpus();
  EXPECT_EQ(r.score("PROVE the Quantum theorem"), r.score("prove the quantum THEOREM"));
  std::string head(1024, 'h'), middle(3000, 'm'), tail(512, 't');
  head.replace(0, 32, "derive the quantum field theorem");
  const std::string p = head + middle + tail;
  std::string other_middle = p;
  std::memset(&other_middle[1024 + 100], 'q', 200);  // outside the window: the same features
  EXPECT_EQ(LearnedRouter::Featurize(p, 14), LearnedRouter::Featurize(other_middle, 14));
  std::string other_head = p, other_tail = p;
  other_head[5] = 'X';                   // inside: different
  other_tail[p.size() - 5] = '!';
  EXPECT_NE(LearnedRouter::Featurize(p, 14), LearnedRouter::Featurize(other_head, 14));
  EXPECT_NE(LearnedRouter::Featurize(p, 14), LearnedRouter::Featurize(other_tail, 14));
}

}  // namespace
}  // namespace tandem
