#include "route/learned_router.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace tandem
