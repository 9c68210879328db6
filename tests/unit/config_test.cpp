#include "config/config.h"

#include <gtest/gtest.h>

#include <map>

namespace tandem {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

const char* kGood = R"(server:
  listen: 127.0.0.1:9000
  workers: 3
models:
  - name: small
    base_url: http://127.0.0.1:8081/v1
    tier: slm
    price: {input: 0.1, output: 0.2}
  - name: big
    base_url: https://api.openai.com/v1/
    model: gpt-4o
    api_key_env: OPENAI_API_KEY
    tier: llm
    price: {input: 2.5, output: 10}
    fallbacks: [small]
routing:
  privacy: local_only
  aliases: {fast: slm}
  rules:
    - name: long
      if: {min_tokens: 100}
      then: llm
)";

TEST(Config, ParsesAGoodConfig) {
  auto c = ParseConfig(kGood, "t.yaml", FakeEnv({{"OPENAI_API_KEY", "sk-test"}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server.port, 9000);
  EXPECT_EQ(c->server.workers, 3);
  ASSERT_EQ(c->models.size(), 2u);
  EXPECT_EQ(c->models[1].base_url, "https://api.openai.com/v1");
  EXPECT_EQ(c->models[1].api_key, "sk-test");
  EXPECT_EQ(c->models[1].locality, Locality::kCloud);
  EXPECT_TRUE(c->models[1].unavailable.empty());
  EXPECT_EQ(c->routing.slm_model, "small");
  EXPECT_EQ(c->routing.llm_model, "big");
  EXPECT_TRUE(c->routing.local_only);
  ASSERT_EQ(c->routing.rules.size(), 1u);
  EXPECT_EQ(*c->routing.rules[0].min_tokens, 100);
  EXPECT_EQ(c->routing.aliases.at("fast"), "slm");
}

TEST(Config, AMissingCloudKeyMarksTheModelUnavailable) {
  auto c = ParseConfig(kGood, "t.yaml", FakeEnv({}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->models[1].unavailable, "environment variable OPENAI_API_KEY is not set");
}

struct BadCase {
  const char* yaml;
  const char* expect;  // substring of the message, which always starts with "bad.yaml:<line>:"
  int line;
};

TEST(Config, ErrorsNameFileLineAndField) {
  const BadCase cases[] = {
      {"models:\n  - name: a\n    base_url: http://x\n    tier: huge\n",
       "models[0].tier: expected 'slm' or 'llm'", 4},
      {"models:\n  - name: a\n    base_url: ftp://x\n    tier: slm\n", "must start with http", 3},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\n    colour: red\n",
       "unknown key 'colour'", 5},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\n  - name: a\n    base_url: http://y\n"
       "    tier: llm\n",
       "duplicate model name", 5},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\n    fallbacks: [nope]\n",
       "no model named 'nope'", 5},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\nrouting:\n  rules:\n    - if: {task: "
       "[poetry]}\n"
       "      then: llm\n",
       "unknown task type 'poetry'", 7},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\nrouting:\n  rules:\n    - if: "
       "{min_tokens: 5}\n"
       "      then: nowhere\n",
       "'nowhere' is neither", 8},
      {"server:\n  listen: localhost\nmodels: []\n", "expected host:port", 2},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\n    price: {input: -1}\n",
       "must not be negative", 5},
      {"models: [\n", "YAML syntax error", 2},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\nauth:\n  keys:\n    - id: k\n      "
       "key_env: NOPE\n",
       "NOPE is not set", 8},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\n    tls_ca_file: ca.pem\n",
       "needs an https://", 5},
      {"models:\n  - name: a\n    base_url: https://x\n    tier: slm\n    tls_ca_file: /nonexistent/ca.pem\n",
       "no such file", 5},
      {"models:\n  - name: a\n    base_url: http://x\n    tier: slm\nrouting:\n  privacy: sometimes\n",
       "expected 'off' or 'local_only'", 6},
  };
  for (const auto& c : cases) {
    auto r = ParseConfig(c.yaml, "bad.yaml", FakeEnv({}));
    ASSERT_FALSE(r.ok()) << c.yaml;
    const std::string& m = r.status().message();
    EXPECT_NE(m.find(c.expect), std::string::npos) << m;
    EXPECT_EQ(m.rfind("bad.yaml:" + std::to_string(c.line) + ":", 0), 0u) << m;
  }
}

TEST(Config, MissingFileIsAClearError) {
  auto r = LoadConfig("/nonexistent/tandem.yaml", FakeEnv({}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace tandem
