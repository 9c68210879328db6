#include "simd_levels.h"
#include "route/pii.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "config/config.h"
#include "route/pii_windows.h"

namespace tandem {
namespace {

std::vector<std::string> Kinds(const std::string& text) { return PiiDetector(AllPiiKinds()).kinds_in(text); }

bool Has(const std::string& text, const std::string& kind) {
  auto k = Kinds(text);
  return std::find(k.begin(), k.end(), kind) != k.end();
}

TEST(Pii, FindsEachKind) {
  EXPECT_TRUE(Has("mail me at jane.doe+x@example.co.uk today", "email"));
  EXPECT_TRUE(Has("card 4111 1111 1111 1111 exp 12/29", "card"));
  EXPECT_TRUE(Has("card 5500-0000-0000-0004", "card"));
  EXPECT_TRUE(Has("IBAN GB82 WEST 1234 5698 7654 32 please", "iban"));
  EXPECT_TRUE(Has("DE89370400440532013000", "iban"));
  EXPECT_TRUE(Has("my ssn is 123-45-6789", "ssn"));
  EXPECT_TRUE(Has("call +1 (415) 555-2671 now", "phone"));
  EXPECT_TRUE(Has("server at 192.168.10.20 is down", "ip"));
  EXPECT_TRUE(Has("v6 2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ip"));
  EXPECT_TRUE(Has("key sk-proj-abcdefghijklmnopqrstuvwx1234", "secret"));
  EXPECT_TRUE(Has("AKIAIOSFODNN7EXAMPLE", "secret"));
  EXPECT_TRUE(Has("-----BEGIN RSA PRIVATE KEY-----", "secret"));
  EXPECT_TRUE(Has("password: hunter2hunter2", "secret"));
}

TEST(Pii, ChecksumsRejectLookalikes) {
  EXPECT_FALSE(Has("order 4111 1111 1111 1112", "card"));    // fails Luhn
  EXPECT_FALSE(Has("GB82 WEST 1234 5698 7654 33", "iban"));  // fails mod 97
  EXPECT_FALSE(Has("ref 000-12-3456", "ssn"));               // area 000 is never issued
  EXPECT_FALSE(Has("version 1.2.3 of the app", "ip"));
  EXPECT_FALSE(Has("999.1.1.1", "ip"));
  EXPECT_TRUE(Kinds("What is the capital of France? Explain in 3 sentences.").empty());
}

TEST(Pii, ChecksumFunctions) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_FALSE(LuhnValid("41111"));
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_FALSE(IbanValid("GB82WEST12345698765433"));
}

TEST(Pii, OnlyEnabledDetectorsRun) {
  PiiDetector only_email({"email"});
  EXPECT_TRUE(only_email.kinds_in("4111 1111 1111 1111").empty());
  EXPECT_EQ(only_email.kinds_in("a@b.io").size(), 1u);
}

TEST(Pii, ScanReportsOffsets) {
  PiiDetector d(AllPiiKinds());
  std::string text = "x jane@example.com y";
  auto f = d.scan(text);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(text.substr(f[0].offset, f[0].length), "jane@example.com");
}

TEST(Pii, HostileInputStaysLinear) {
  std::string evil(200000, 'a');
  evil += "@";
  PiiDetector d(AllPiiKinds());
  auto k = d.kinds_in(evil);  // RE2: no catastrophic backtracking; this returns promptly
  EXPECT_TRUE(k.empty());
}

// The kinds a full scan of every pattern over the whole text finds: what kinds_in must equal.
std::vector<std::string> KindsByFullScan(const PiiDetector& d, const std::string& text) {
  std::set<std::string> kinds;
  for (const auto& f : d.scan(text, SIZE_MAX)) kinds.insert(f.kind);
  return {kinds.begin(), kinds.end()};
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Random texts built from prose, numbers, near-misses and real personal data, glued with varied separators.
std::string RandomText(std::mt19937& rng) {
  static const char* kPieces[] = {
      "the quarterly numbers", "invoice", "42.", "2026", "v1.2.3", "1.2.3.4", "999.1.1.1", "10:30", "a:b",
      "note:", "x = 5", "result = compute()", "password", "password:", "Password =", "api_key=", "token :",
      "hunter2hunter2", "secret", "jane@example.com", "@", "user@", "@home", "a@1b.2c.example.org",
      "4111 1111 1111 1111", "4111 1111 1111 1112", "5500-0000-0000-0004", "4111111111111111",
      "GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 33", "DE89370400440532013000", "AB12",
      "123-45-6789", "000-12-3456", "+1 (415) 555-2671", "555-2671", "(415)", "192.168.10.20",
      "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1", "dead:beef", "sk-proj-abcdefghijklmnopqrstuvwx1234",
      "sk-", "AKIAIOSFODNN7EXAMPLE", "AKIA", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh_", "xoxb-1234567890-abc",
      "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "-----BEGIN RSA PRIVATE KEY-----", "---", "Bearer",
      "Bearer abcdefghijklmnopqrstuvwxyz012345", "bearer token", "wearer", "KI", "Iz", "0", "12", "1234",
      "12345678", "1234567890123456789012345", "3.14", "1999", "$1,234.56", "91234 567 8901",
      "+1-(12)-123-123", "1 (12) 123-123", "+44 20 7946 0958", "(415)555-2671", "10.0.0.1", "1.2.3", "v2.0.1.7", "\u00e9t\u00e9", "well-known", "e-mail", "_", ":", "=",
      "to\u212Aen:", "pa\u017F\u017Fword =", "caf\u00e9 ="};  // Kelvin sign and long s fold to k and s in RE2
  static const char* kGlue[] = {" ", "  ", "\n", "\t", "", "-", ".", " \n\n ", ", ", "                    "};
  std::string text;
  const int pieces = std::uniform_int_distribution<int>(1, 40)(rng);
  for (int i = 0; i < pieces; ++i) {
    text += kPieces[rng() % (sizeof kPieces / sizeof *kPieces)];
    text += kGlue[rng() % (sizeof kGlue / sizeof *kGlue)];
    if (rng() % 8 == 0) text += std::string(rng() % 300, rng() % 2 ? ' ' : 'x');  // push things apart
  }
  return text;
}

TEST(Pii, WindowedScanEqualsAFullScan) {
  PiiDetector d(AllPiiKinds());
  std::mt19937 rng(7);
  int with_pii = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string text = RandomText(rng);
    const auto expected = KindsByFullScan(d, text);
    with_pii += !expected.empty();
    ASSERT_EQ(Sorted(d.kinds_in(text)), expected) << "text: [" << text << "]";
  }
  EXPECT_GT(with_pii, 1000);  // the generator exercises the detectors, not just prose
}

TEST(Pii, AnchorScanIsTheSameAtEverySimdLevel) {
  ForEachSimdLevel([](route_simd::Level) {
    std::mt19937 rng(11);
    std::vector<TextSpan> simd, scalar;
    for (int round = 0; round < 500; ++round) {
      const std::string text = RandomText(rng);
      PiiWindows(text, &simd);
      PiiWindows(text, &scalar, /*force_scalar=*/true);
      ASSERT_EQ(simd.size(), scalar.size()) << text;
      for (size_t i = 0; i < simd.size(); ++i) {
        EXPECT_EQ(simd[i].begin, scalar[i].begin);
        EXPECT_EQ(simd[i].end, scalar[i].end);
      }
    }
  });
}

TEST(Pii, ProseNeedsNoWindow) {
  std::string prose;
  for (int i = 0; i < 200; ++i) prose += "the router decides whether a small model can answer this question, 42.\n";
  std::vector<TextSpan> w;
  PiiWindows(prose, &w);
  EXPECT_TRUE(w.empty());
  prose += "write to jane@example.com";
  PiiWindows(prose, &w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_LT(w[0].end - w[0].begin, 300u);
  EXPECT_EQ(PiiDetector(AllPiiKinds()).kinds_in(prose), std::vector<std::string>{"email"});
}

TEST(Pii, MatchesStretchedByWhitespaceOrLongDomainsAreFound) {
  EXPECT_TRUE(Has("password" + std::string(500, ' ') + ":" + std::string(500, '\n') + "hunter2hunter2", "secret"));
  std::string domain = "a@";
  for (int i = 0; i < 20; ++i) domain += "1label-with-a-digit-first-and-quite-long.";
  EXPECT_TRUE(Has(domain + "com", "email"));
  // A card number whose window would start inside a longer digit run is judged with the run as context.
  EXPECT_FALSE(Has(std::string(150, '7') + "4111111111111111", "card"));
}

}  // namespace
}  // namespace tandem
