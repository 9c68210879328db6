#include "route/pii.h"

#include <gtest/gtest.h>

#include "config/config.h"

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

}  // namespace
}  // namespace tandem
