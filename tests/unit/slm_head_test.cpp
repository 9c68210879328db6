#include "route/slm_head.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

namespace tandem {
namespace {

TEST(SlmHead, LearnsALinearBoundaryAndRoundTrips) {
  // Two clusters in 16 dimensions, offset along the first axis, on a large common offset (standardized away).
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 1);
  std::vector<std::vector<float>> rows;
  std::vector<double> labels;
  for (int i = 0; i < 400; ++i) {
    std::vector<float> v(16);
    for (auto& x : v) x = 100 + noise(rng);
    const bool hard = i % 2 == 0;
    v[0] += hard ? 3 : -3;
    rows.push_back(v);
    labels.push_back(hard ? 1 : 0);
  }
  SlmHead h = SlmHead::Train("enc|llama|2x8|100", rows, labels, SlmHeadOptions{});
  int right = 0;
  for (size_t i = 0; i < rows.size(); ++i) right += (h.score(rows[i]) >= 0.5) == (labels[i] == 1);
  EXPECT_GT(right, 390);

  const std::string path = testing::TempDir() + "/head.tsr";
  ASSERT_TRUE(h.Save(path).ok());
  auto back = SlmHead::Load(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->encoder_id(), "enc|llama|2x8|100");
  EXPECT_EQ(back->dim(), 16u);
  EXPECT_DOUBLE_EQ(back->score(rows[7]), h.score(rows[7]));

  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 9));
  auto cut = SlmHead::Load(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "TNDMMR01....";
  EXPECT_NE(SlmHead::Load(path).status().message().find("bad magic"), std::string::npos);
}

}  // namespace
}  // namespace tandem
