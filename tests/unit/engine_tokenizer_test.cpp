#include <gtest/gtest.h>

#include <random>

#include "engine/generate/generate.h"
#include "engine/generate/sampler.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "gguf_builder.h"

namespace tandem::engine {
namespace {

using tandem::testing::GgufBuilder;

std::unique_ptr<Tokenizer> MakeBpe(std::vector<uint8_t>* storage, std::unique_ptr<GgufFile>* file) {
  *storage = tandem::testing::ByteBpeVocab({"t h", "th e", "Ġ the", "l l", "e ll", "h ell", "Ġ w"});
  auto f = GgufFile::Parse(storage->data(), storage->size(), "bpe");
  EXPECT_TRUE(f.ok()) << f.status().message();
  *file = std::move(*f);
  auto t = Tokenizer::FromGguf(**file);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return std::move(*t);
}

TEST(TokenizerTest, BpeMergesByRankAndRoundTrips) {
  std::vector<uint8_t> storage;
  std::unique_ptr<GgufFile> file;
  auto tok = MakeBpe(&storage, &file);
  const auto ids = tok->Encode("the hell", false, false);
  // "the" merges fully; " hell" becomes "Ġ" + "hell" ("Ġ h" is no merge, "h ell" is).
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(tok->Text(ids[0]), "the");
  EXPECT_EQ(tok->Text(ids[2]), "hell");
  std::mt19937 rng(1);
  const std::vector<std::string> pieces = {"the", " ", "  ", "\n", "é", "日本", "42", "x", "'s", "😀", "\t", "ll"};
  for (int i = 0; i < 300; ++i) {
    std::string s;
    for (int k = 0; k < 8; ++k) s += pieces[rng() % pieces.size()];
    EXPECT_EQ(tok->Decode(tok->Encode(s, false, false)), s);
  }
}

TEST(TokenizerTest, SpecialTokensOnlyWhenAsked) {
  std::vector<uint8_t> storage;
  std::unique_ptr<GgufFile> file;
  auto tok = MakeBpe(&storage, &file);
  const int32_t start = *tok->Find("<|im_start|>");
  auto parsed = tok->Encode("<|im_start|>the", false, true);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0], start);
  auto plain = tok->Encode("<|im_start|>the", false, false);
  EXPECT_GT(plain.size(), 2u);
  EXPECT_EQ(tok->Decode(plain), "<|im_start|>the");
  // User-defined tokens are matched even in plain text.
  EXPECT_EQ(tok->Encode("<tool>", false, false).size(), 1u);
  // Control tokens render only on request.
  EXPECT_EQ(tok->Piece(start), "");
  EXPECT_EQ(tok->Piece(start, true), "<|im_start|>");
}

TEST(TokenizerTest, DigitsSplitOneByOneForSmollm) {
  std::vector<uint8_t> storage;
  std::unique_ptr<GgufFile> file;
  auto tok = MakeBpe(&storage, &file);
  EXPECT_EQ(tok->Encode("12345", false, false).size(), 5u);
}

TEST(TokenizerTest, SentencePieceScoresAndByteFallback) {
  std::vector<std::string> tokens = {"<pad>", "<eos>", "<bos>", "<unk>"};
  std::vector<int32_t> types = {3, 3, 3, 2};
  std::vector<float> scores = {0, 0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
    scores.push_back(0);
  }
  for (const char* p : {"\xE2\x96\x81hello", "hello", "hell", "\xE2\x96\x81hell", "\xE2\x96\x81he", "\xE2\x96\x81h",
                        "he", "ll", "h", "e", "l", "o", "\xE2\x96\x81"}) {
    tokens.push_back(p);
    types.push_back(1);
    scores.push_back(static_cast<float>(-tokens.size()));
  }
  const auto bytes = GgufBuilder()
                         .Str("tokenizer.ggml.model", "llama")
                         .StrArray("tokenizer.ggml.tokens", tokens)
                         .I32Array("tokenizer.ggml.token_type", types)
                         .F32Array("tokenizer.ggml.scores", scores)
                         .Bool("tokenizer.ggml.add_space_prefix", false)
                         .U32("tokenizer.ggml.bos_token_id", 2)
                         .U32("tokenizer.ggml.eos_token_id", 1)
                         .Build();
  auto f = GgufFile::Parse(bytes.data(), bytes.size(), "spm");
  ASSERT_TRUE(f.ok()) << f.status().message();
  auto tok = Tokenizer::FromGguf(**f);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  auto ids = (*tok)->Encode("hello hello", true, false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], 2);  // BOS added by default for SentencePiece models
  EXPECT_EQ((*tok)->Text(ids.back()), "\xE2\x96\x81hello");
  // Characters outside the vocabulary fall back to their bytes and decode back.
  const std::string s = "hé 日";
  EXPECT_EQ((*tok)->Decode((*tok)->Encode(s, false, false)), s);
}

TEST(TokenizerTest, SentencePieceSpacePrefixIsAddedAndTakenBack) {
  // Found by tokenizer_fuzz: with add_space_prefix, Encode puts a space first; Decode must drop it again.
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81hi", "h", "i", "\xE2\x96\x81", "\xE2\x96\x81h"};
  const auto bytes = GgufBuilder()
                         .Str("tokenizer.ggml.model", "llama")
                         .StrArray("tokenizer.ggml.tokens", tokens)
                         .I32Array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1})
                         .F32Array("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -3, -4, -5})
                         .Build();
  auto f = GgufFile::Parse(bytes.data(), bytes.size(), "spm");
  ASSERT_TRUE(f.ok());
  auto tok = Tokenizer::FromGguf(**f);
  ASSERT_TRUE(tok.ok());
  const auto ids = (*tok)->Encode("hi hi", true, false);
  ASSERT_EQ(ids.size(), 3u);  // <s> ▁hi ▁hi
  EXPECT_EQ((*tok)->Text(ids[1]), "\xE2\x96\x81hi");
  EXPECT_EQ((*tok)->Decode(ids), "hi hi");
}

TEST(TokenizerTest, RejectsUnknownModelsAndPreTokenizers) {
  for (auto [model, pre, want] : {std::tuple{"bert", "default", "tokenizer model 'bert'"},
                                  std::tuple{"gpt2", "deepseek-coder", "pre-tokenizer 'deepseek-coder'"}}) {
    const auto bytes = GgufBuilder()
                           .Str("tokenizer.ggml.model", model)
                           .Str("tokenizer.ggml.pre", pre)
                           .StrArray("tokenizer.ggml.tokens", {"a"})
                           .StrArray("tokenizer.ggml.merges", {})
                           .Build();
    auto f = GgufFile::Parse(bytes.data(), bytes.size(), "t");
    ASSERT_TRUE(f.ok());
    auto tok = Tokenizer::FromGguf(**f);
    ASSERT_FALSE(tok.ok());
    EXPECT_NE(tok.status().message().find(want), std::string::npos) << tok.status().message();
  }
}

TEST(SamplerTest, GreedySeededAndFiltered) {
  std::vector<float> logits = {1.f, 3.f, 2.f, 3.f, -1.f};
  Sampler greedy(SamplingParams{});
  EXPECT_EQ(greedy.Sample(logits.data(), 5, {}), 1);  // ties: the lowest id
  std::vector<bool> allowed = {true, false, true, false, true};
  EXPECT_EQ(greedy.Sample(logits.data(), 5, {}, &allowed), 2);
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.seed = 42;
  Sampler a(p), b(p);
  std::vector<int32_t> seq_a, seq_b;
  for (int i = 0; i < 50; ++i) {
    seq_a.push_back(a.Sample(logits.data(), 5, {}));
    seq_b.push_back(b.Sample(logits.data(), 5, {}));
  }
  EXPECT_EQ(seq_a, seq_b);
  p.top_k = 2;
  Sampler k2(p);
  for (int i = 0; i < 50; ++i) {
    const int32_t id = k2.Sample(logits.data(), 5, {});
    EXPECT_TRUE(id == 1 || id == 3);
  }
  p.top_k = 0;
  p.min_p = 0.5f;  // keeps tokens with p >= 0.5 * p_max: ids 1 and 3 (and 2 is e^-1 ~ 0.37: dropped)
  Sampler mp(p);
  for (int i = 0; i < 50; ++i) {
    const int32_t id = mp.Sample(logits.data(), 5, {});
    EXPECT_TRUE(id == 1 || id == 3);
  }
  p.min_p = 0;
  p.temperature = 0;
  p.repeat_penalty = 100.f;  // recent tokens 1 and 3 fall to 0.03: greedy now picks 2
  Sampler rep(p);
  EXPECT_EQ(rep.Sample(logits.data(), 5, {1, 3}), 2);
  std::vector<TokenProb> top;
  const float lp = Sampler::LogProb(logits.data(), 5, 1, 3, &top);
  double total = 0;
  for (float l : logits) total += std::exp(l - 3.0);
  EXPECT_NEAR(lp, -std::log(total), 1e-5);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[2].id, 2);
}

}  // namespace
}  // namespace tandem::engine
