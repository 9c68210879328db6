#include <gtest/gtest.h>

#include "engine/gguf/gguf_file.h"
#include "gguf_builder.h"

namespace tandem::engine {
namespace {

using tandem::testing::GgufBuilder;

std::vector<uint8_t> F32Bytes(size_t n, float v = 1.0f) {
  std::vector<uint8_t> b(n * 4);
  for (size_t i = 0; i < n; ++i) std::memcpy(&b[i * 4], &v, 4);
  return b;
}

std::vector<uint8_t> ValidFile() {
  return GgufBuilder()
      .Str("general.architecture", "llama")
      .U32("llama.block_count", 2)
      .F32("llama.rope.freq_base", 10000.f)
      .StrArray("tokenizer.ggml.tokens", {"a", "b", "c"})
      .I32Array("tokenizer.ggml.token_type", {1, 1, 3})
      .Tensor("w", 0, {8, 2}, F32Bytes(16, 0.5f))
      .Tensor("q", 8, {32, 1}, std::vector<uint8_t>(34, 1))
      .Build();
}

TEST(GgufTest, ParsesMetadataAndTensors) {
  const auto bytes = ValidFile();
  auto f = GgufFile::Parse(bytes.data(), bytes.size(), "mem");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)->version(), 3u);
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
  EXPECT_EQ(*(*f)->GetInt("llama.block_count"), 2);
  EXPECT_FLOAT_EQ(static_cast<float>(*(*f)->GetFloat("llama.rope.freq_base")), 10000.f);
  EXPECT_EQ((*f)->Find("tokenizer.ggml.tokens")->strings.size(), 3u);
  const TensorInfo* w = (*f)->FindTensor("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->ne[0], 8);
  EXPECT_EQ(w->ne[1], 2);
  EXPECT_EQ(w->bytes, 64u);
  float v;
  std::memcpy(&v, w->data, 4);
  EXPECT_EQ(v, 0.5f);
  EXPECT_EQ((*f)->FindTensor("q")->type, TensorType::kQ8_0);
  // Wrong types are named in the error.
  auto bad = (*f)->GetInt("general.architecture");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("should be an integer, is string"), std::string::npos);
}

TEST(GgufTest, EveryTruncationIsACleanError) {
  const auto bytes = ValidFile();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    auto f = GgufFile::Parse(cut.data(), cut.size(), "cut");
    ASSERT_FALSE(f.ok()) << "accepted a file cut at " << n << " of " << bytes.size();
    EXPECT_EQ(f.status().message().rfind("cut: ", 0), 0u) << f.status().message();
  }
}

TEST(GgufTest, EveryFlippedByteIsHandled) {
  // Corrupt each byte in turn: the reader may accept a file whose damage it cannot see (a changed string), but
  // it must never read outside the buffer (ASan checks this build) or crash.
  const auto bytes = ValidFile();
  int rejected = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= 0xA5;
    auto f = GgufFile::Parse(copy.data(), copy.size(), "flip");
    rejected += !f.ok();
  }
  EXPECT_GT(rejected, 20);
}

TEST(GgufTest, ClearMessagesForBadFiles) {
  auto msg = [](std::vector<uint8_t> b) {
    auto f = GgufFile::Parse(b.data(), b.size(), "x.gguf");
    return f.ok() ? std::string("accepted") : f.status().message();
  };
  auto b = ValidFile();
  b[0] = 'X';
  EXPECT_NE(msg(b).find("bad magic"), std::string::npos);
  EXPECT_NE(msg(GgufBuilder(1).Build()).find("unsupported GGUF version 1"), std::string::npos);
  EXPECT_NE(msg(GgufBuilder().Tensor("t", 99, {32}, std::vector<uint8_t>(64)).Build()).find("unknown type id 99"),
            std::string::npos);
  EXPECT_NE(msg(GgufBuilder().Tensor("t", 11, {256}, std::vector<uint8_t>(110)).Build()).find("Q3_K"),
            std::string::npos);
  EXPECT_NE(msg(GgufBuilder().Tensor("t", 8, {33}, std::vector<uint8_t>(68)).Build()).find("not whole Q8_0 blocks"),
            std::string::npos);
  EXPECT_NE(msg(GgufBuilder().Tensor("t", 0, {1000}, F32Bytes(10)).Build()).find("runs past the end"),
            std::string::npos);
  EXPECT_NE(msg(GgufBuilder().U32("k", 1).U32("k", 2).Build()).find("duplicate key 'k'"), std::string::npos);
  EXPECT_NE(msg(GgufBuilder().Tensor("t", 0, {1}, F32Bytes(1)).Tensor("t", 0, {1}, F32Bytes(1)).Build())
                .find("duplicate tensor 't'"),
            std::string::npos);
}

TEST(GgufTest, OpenReportsMissingFile) {
  auto f = GgufFile::Open("/nonexistent/model.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace tandem::engine
