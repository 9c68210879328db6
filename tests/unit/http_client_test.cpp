#include "providers/http_client.h"

#include <gtest/gtest.h>

#include "providers/registry.h"

namespace tandem {
namespace {

TEST(ParseHttpUrl, SchemesPortsAndPaths) {
  auto a = ParseHttpUrl("https://api.openai.com/v1");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "api.openai.com");
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(a->base_path, "/v1");
  auto b = ParseHttpUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->port, "8080");
  EXPECT_EQ(b->base_path, "");
  auto c = ParseHttpUrl("http://[::1]:9/x/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, "9");
  EXPECT_EQ(c->base_path, "/x");
  EXPECT_FALSE(ParseHttpUrl("ftp://x").ok());
  EXPECT_FALSE(ParseHttpUrl("http://").ok());
}

TEST(Retriable, OnlyTransientFailures) {
  EXPECT_TRUE(Retriable(Status(Code::kUpstream, "conn refused")));
  EXPECT_TRUE(Retriable(Status(Code::kRateLimited, "429", 429)));
  EXPECT_TRUE(Retriable(Status(Code::kUpstream, "500", 500)));
  EXPECT_TRUE(Retriable(Status(Code::kDeadlineExceeded, "timeout")));
  EXPECT_FALSE(Retriable(Status(Code::kInvalidArgument, "400", 400)));
  EXPECT_FALSE(Retriable(Status(Code::kUpstream, "401", 401)));
  EXPECT_FALSE(Retriable(Status(Code::kCancelled, "gone")));
}

}  // namespace
}  // namespace tandem
