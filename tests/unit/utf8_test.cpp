// core/utf8: well-formedness by Unicode's table, replacement by maximal subparts (the expected strings are what
// Python's bytes.decode("utf-8", errors="replace") gives), and the incomplete tail a streamer holds back.
#include "core/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tandem {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, WellFormedTextIsKeptAsIs) {
  for (const std::string& s : {std::string(), std::string("plain ascii"), std::string("h\xC3\xA9llo \xE2\x9C\x93"),
                              std::string("\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"), std::string("\xEF\xBF\xBD"),
                              std::string("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80")}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(ToValidUtf8(s), s);
  }
}

TEST(Utf8, EachMaximalSubpartBecomesOneReplacementCharacter) {
  const struct {
    std::string in, want;
  } cases[] = {
      {"ok\xC3", "ok" + kFffd},                                  // a 2-byte character cut short
      {"ok \xF0\x9F\x98", "ok " + kFffd},                        // an emoji cut after three of its four bytes
      {"\xE6\x97" "x", kFffd + "x"},                             // a 3-byte character cut, then more text
      {"\xF0\x9F\xF0\x9F\x98\x80", kFffd + "\xF0\x9F\x98\x80"},  // a cut emoji, then a whole one
      {"caf\xE9!", "caf" + kFffd + "!"},                         // Latin-1 e-acute
      {"\x80" "a", kFffd + "a"},                                 // a lone continuation byte
      {"\xC0\xAF", kFffd + kFffd},                               // overlong '/': C0 leads nothing
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},                   // overlong 3-byte form
      {"\xED\xA0\x80" "x", kFffd + kFffd + kFffd + "x"},         // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},       // above U+10FFFF
      {"\xF5\x80", kFffd + kFffd},                               // F5 leads nothing
      {"\xFF", kFffd},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(IsValidUtf8(c.in)) << c.in;
    EXPECT_EQ(ToValidUtf8(c.in), c.want) << c.in;
  }
}

TEST(Utf8, StepReportsSequencesAndSubparts) {
  bool valid = false;
  EXPECT_EQ(Utf8Step("a", 0, &valid), 1u);
  EXPECT_TRUE(valid);
  EXPECT_EQ(Utf8Step("\xE2\x9C\x93", 0, &valid), 3u);
  EXPECT_TRUE(valid);
  EXPECT_EQ(Utf8Step("\xE2\x9C" "a", 0, &valid), 2u);
  EXPECT_FALSE(valid);
  EXPECT_EQ(Utf8Step("\xED\xA0\x80", 0, &valid), 1u);
  EXPECT_FALSE(valid);
}

// A streamer holds back only what can still become a character: a valid start without its end.
TEST(Utf8, IncompleteTailIsOnlyAStartThatCanStillFinish) {
  EXPECT_EQ(Utf8IncompleteTail(""), 0u);
  EXPECT_EQ(Utf8IncompleteTail("abc"), 0u);
  EXPECT_EQ(Utf8IncompleteTail("ok\xC3"), 1u);
  EXPECT_EQ(Utf8IncompleteTail("ok\xE2\x9C"), 2u);
  EXPECT_EQ(Utf8IncompleteTail("ok\xF0\x9F\x98"), 3u);
  EXPECT_EQ(Utf8IncompleteTail("ok\xF0\x9F\x98\x80"), 0u);  // complete
  EXPECT_EQ(Utf8IncompleteTail("ok\xE0\x80"), 0u);          // E0 80 can never finish (overlong)
  EXPECT_EQ(Utf8IncompleteTail("ok\xED\xA0"), 0u);          // nor can a surrogate
  EXPECT_EQ(Utf8IncompleteTail("ok\x80"), 0u);              // a stray continuation byte
  EXPECT_EQ(Utf8IncompleteTail("\xC3\xA9\xC3"), 1u);
}

// Any bytes: the result is well-formed, a second pass changes nothing, and streaming the bytes in pieces (holding
// back each piece's incomplete tail) gives the same text as replacing them all at once.
TEST(Utf8, RandomBytesComeOutWellFormedAndStreamAlike) {
  std::mt19937 rng(7);
  const unsigned char alphabet[] = {'a', 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xC3, 0xDF, 0xE0, 0xE2,
                                    0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x8F, 0x90};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string s;
    const int n = static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(alphabet[rng() % sizeof alphabet]));
    const std::string once = ToValidUtf8(s);
    ASSERT_TRUE(IsValidUtf8(once)) << trial;
    ASSERT_EQ(ToValidUtf8(once), once);
    std::string streamed, pending;
    for (size_t i = 0; i < s.size();) {
      const size_t piece = 1 + rng() % 3;
      pending.append(s, i, piece);
      i += piece;
      const size_t hold = Utf8IncompleteTail(pending);
      streamed += ToValidUtf8(std::string_view(pending).substr(0, pending.size() - hold));
      pending.erase(0, pending.size() - hold);
    }
    streamed += ToValidUtf8(pending);
    ASSERT_EQ(streamed, once) << trial;
  }
}

}  // namespace
}  // namespace tandem
